"""The local engine: in this process (one worker) or a fork pool (several): today's behaviour.

A fork pool inherits the function from the parent instead of pickling it per task, so the
state a function builds lazily is built once per process, as the former worker initialiser did.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any, TypeVar

__all__ = ["LocalEngine", "side_by_side", "usable_cores"]

T = TypeVar("T")
R = TypeVar("R")
B = TypeVar("B")

_CHUNK = 64
"""Items a pool's worker takes at once, at most."""
_FN: list[Callable[[Any], Any]] = []  # the function of the running pool, set in each forked worker


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or `taskset` narrows)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS has no affinity: every core
        return os.cpu_count() or 1


def _install(fn: Callable[[Any], Any]) -> None:
    _FN[:] = [fn]


def _call(item: Any) -> Any:
    return _FN[0](item)


@dataclass(frozen=True)
class LocalEngine:
    """`workers` processes on this machine; 1 runs every item in this process."""

    workers: int = 1
    name: str = field(default="local", init=False)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self.workers <= 1:
            yield from map(fn, items)
            return
        source = iter(items)
        head = list(islice(source, self.workers * 8 * _CHUNK))  # enough to size the chunks as for the whole list
        if len(head) <= 1:
            yield from map(fn, head)
            return
        chunk = max(1, min(_CHUNK, len(head) // (self.workers * 8)))
        with multiprocessing.get_context("fork").Pool(self.workers, initializer=_install, initargs=(fn,)) as pool:
            yield from pool.imap_unordered(_call, chain(head, source), chunksize=chunk)  # a stream: read as sent

    def pool(self, factory: Callable[[], Callable[[B], R]], batches: Iterable[B]) -> Iterator[R]:
        yield from map(factory(), batches)

    def cluster(self) -> dict[str, Any]:
        return {"engine": self.name, "nodes": 1, "cpus": os.cpu_count() or 1, "workers": self.workers,
                "gpus": 0, "python": platform.python_version(), "platform": sys.platform}


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
    An exception in a child is raised here. Only a command forks this way: a threaded server must not (a lock
    another thread holds at the fork stays held in the child).
    """
    numbered = list(enumerate(items))
    if cost is not None:
        numbered.sort(key=lambda pair: -cost(pair[1]))
    done = dict(LocalEngine(min(len(items), workers)).map(_Numbered(fn), numbered))
    return [done[index] for index in range(len(items))]
