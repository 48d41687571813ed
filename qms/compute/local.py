"""The local engine: in this process (one worker) or a fork pool (several): today's behaviour.

A fork pool inherits the function from the parent instead of pickling it per task, so the
state a function builds lazily is built once per process, as the former worker initialiser did.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Any, TypeVar

__all__ = ["LocalEngine"]

T = TypeVar("T")
R = TypeVar("R")
B = TypeVar("B")

_CHUNK = 64
"""Items a pool's worker takes at once, at most."""
_FN: list[Callable[[Any], Any]] = []  # the function of the running pool, set in each forked worker


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
