"""The local engine: in this process (one worker) or a fork pool (several): today's behaviour.

A fork pool inherits the function from the parent instead of pickling it per task, so the
state a function builds lazily is built once per process, as the former worker initialiser did.
The pool is a `ProcessPoolExecutor`: a worker that dies (killed, out of memory, a crash in native code)
breaks it and fails the run at once, where a `multiprocessing.Pool` replaces the worker and waits
forever for the items it held.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any, TypeVar

from qms.errors import ExitCode, QmsError

__all__ = ["LocalEngine", "WorkerLost", "side_by_side", "usable_cores"]

T = TypeVar("T")
R = TypeVar("R")
B = TypeVar("B")

_CHUNK = 64
"""Items a pool's worker takes at once, at most."""
_IN_FLIGHT = 4
"""Chunks handed out per worker before the first comes back: enough to keep each busy, and a bound on what a
stream holds in memory."""
_FN: list[Callable[[Any], Any]] = []  # the function of the running pool, set in each forked worker


class WorkerLost(QmsError):
    """A worker process ended without an answer: not a failed check, and nothing the run computed is kept."""

    exit_code = ExitCode.INTERNAL

    def __init__(self, unfinished: Sequence[int]) -> None:
        self.unfinished = tuple(unfinished)
        super().__init__(f"a worker process ended abruptly; {_positions(self.unfinished)} did not finish",
                         hint="nothing was kept: run the command again; if it recurs, the system may be killing "
                              "workers for memory (see the kernel log)")

    def __reduce__(self) -> tuple[type[WorkerLost], tuple[tuple[int, ...]]]:
        return WorkerLost, (self.unfinished,)  # pickled (from a nested worker) with its items, not its message


def _positions(unfinished: Sequence[int]) -> str:
    shown = ", ".join(str(n + 1) for n in sorted(unfinished)[:10])
    more = f" and {len(unfinished) - 10} more" if len(unfinished) > 10 else ""
    return f"item{'s' if len(unfinished) > 1 else ''} {shown}{more}"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or `taskset` narrows)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no affinity: every core
        return os.cpu_count() or 1


def _install(fn: Callable[[Any], Any]) -> None:
    _FN[:] = [fn]


def _call_each(chunk: list[Any]) -> list[Any]:
    return [_FN[0](item) for item in chunk]


def _chunks(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while chunk := list(islice(items, size)):
        yield chunk


@dataclass(frozen=True)
class LocalEngine:
    """`workers` processes on this machine; 1 runs every item in this process."""

    workers: int = 1
    name: str = field(default="local", init=False)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`fn` of each item, in the order they finish; a stream is read as chunks are handed out.

        Raises `WorkerLost`, naming the items (1-based, in the order given) that were out, if a worker dies.
        """
        if self.workers <= 1:
            yield from map(fn, items)
            return
        source = iter(items)
        head = list(islice(source, self.workers * 8 * _CHUNK))  # enough to size the chunks as for the whole list
        if len(head) <= 1:
            yield from map(fn, head)
            return
        size = max(1, min(_CHUNK, len(head) // (self.workers * 8)))
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_install, initargs=(fn,))
        try:
            yield from _stream(pool, _chunks(chain(head, source), size), self.workers * _IN_FLIGHT)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # also when the caller stops reading early

    def pool(self, factory: Callable[[], Callable[[B], R]], batches: Iterable[B]) -> Iterator[R]:
        yield from map(factory(), batches)

    def cluster(self) -> dict[str, Any]:
        return {"engine": self.name, "nodes": 1, "cpus": os.cpu_count() or 1, "workers": self.workers,
                "gpus": 0, "python": platform.python_version(), "platform": sys.platform}


def _stream(pool: ProcessPoolExecutor, chunks: Iterator[list[Any]], in_flight: int) -> Iterator[Any]:
    """Each chunk's results as it finishes, with at most `in_flight` chunks out at once."""
    out: dict[Future[list[Any]], range] = {}
    start = 0
    for chunk in chunks:
        out[pool.submit(_call_each, chunk)] = range(start, start + len(chunk))
        start += len(chunk)
        if len(out) >= in_flight:
            yield from _finished(out)
    while out:
        yield from _finished(out)


def _finished(out: dict[Future[list[Any]], range]) -> Iterator[Any]:
    done, _ = wait(out, return_when=FIRST_COMPLETED)
    for future in done:
        try:
            results = future.result()
        except BrokenProcessPool:  # every chunk still out is lost with it
            raise WorkerLost([n for held in out.values() for n in held]) from None
        del out[future]
        yield from results


@dataclass(frozen=True)
class _Numbered:
    fn: Callable[[Any], Any]

    def __call__(self, item: tuple[int, Any]) -> tuple[int, Any]:
        return item[0], self.fn(item[1])


def side_by_side(fn: Callable[[T], R], items: Sequence[T], workers: int, *,
                 cost: Callable[[T], float] | None = None) -> list[R]:
    """`fn` of each item, in the items' order, from `workers` forked processes (1: in this process).

    With `cost`, the items are handed out costliest first (longest processing time first): a long item
    started last would leave the other processes idle while it finishes.

    For a handful of heavy, GIL-bound items a command waits for (documents to render or verify): the
    children inherit `fn` and whatever it holds, so only the items and results cross between processes.
    An exception in a child is raised here; a child that dies raises `WorkerLost` naming the items (in the
    items' order) that did not finish. Only a command forks this way: a threaded server must not (a lock
    another thread holds at the fork stays held in the child).
    """
    numbered = list(enumerate(items))
    if cost is not None:
        numbered.sort(key=lambda pair: -cost(pair[1]))
    try:
        done = dict(LocalEngine(min(len(items), workers)).map(_Numbered(fn), numbered))
    except WorkerLost as lost:
        raise WorkerLost([numbered[n][0] for n in lost.unfinished]) from None
    return [done[index] for index in range(len(items))]
