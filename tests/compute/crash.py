"""A per-item function that kills its worker process once, on a marked item: a real lost worker.

The marker is a file: the first call on the marked item removes it and ends the process with
`os._exit` (no clean-up, no exception: what a kill or an out-of-memory end looks like to the
engine); the retried call finds no marker and runs the wrapped function.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from qms.compute.engine import Engine

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class CrashOnce(Generic[T, R]):
    inner: Callable[[T], R]
    marked: T
    marker: Path

    def __call__(self, item: T) -> R:
        if item == self.marked and self.marker.exists():
            self.marker.unlink()
            os._exit(1)
        return self.inner(item)


@dataclass
class CrashingEngine:
    """An engine whose map function kills its worker on `marked`, once: the engine under test beneath."""

    engine: Engine
    marked: Any
    marker: Path

    @property
    def name(self) -> str:
        return self.engine.name

    @property
    def workers(self) -> int:
        return self.engine.workers

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        self.marker.touch()
        return self.engine.map(CrashOnce(fn, self.marked, self.marker), items)

    def pool(self, factory: Callable[[], Callable[[Any], R]], batches: Iterable[Any]) -> Iterator[R]:
        return self.engine.pool(factory, batches)

    def cluster(self) -> dict[str, Any]:
        return self.engine.cluster()
