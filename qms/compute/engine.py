"""The engine interface: map a picklable per-item function over items, results as they complete.

Items may be a sequence or a stream (a generator reading them from disk): an engine reads a
stream ahead by a bounded number of items only, so a caller's memory stays flat in their number.

An engine never orders results: each result names its item (the callers return a path or an
index with it). Results are yielded one by one as their block finishes, so the caller (the
one process that writes manifests, journals and audit events) reports progress and records
each result once. A function is picklable (a module-level function or a frozen dataclass
with `__call__`); heavy state it needs (a de-identifier, a model) is built lazily on first
call in each worker, never in the driver.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, Protocol, TypeVar

__all__ = ["Engine", "blocks"]

T = TypeVar("T")
R = TypeVar("R")
B = TypeVar("B")


class Engine(Protocol):
    """Where per-item work runs: this process, a local pool, or a cluster."""

    @property
    def name(self) -> str:
        """`local` or `ray`: recorded with every batch that ran on it."""
        ...

    @property
    def workers(self) -> int:
        """How many items run at once (processes, or the cluster's CPUs)."""
        ...

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """`fn(item)` for every item, yielded as completed (in no set order); each exactly once; a stream of
        items is read ahead by a bounded number only."""
        ...

    def pool(self, factory: Callable[[], Callable[[B], R]], batches: Iterable[B]) -> Iterator[R]:
        """A stateful stage: `factory()` builds the worker (a model) once per actor, one GPU each where the
        cluster has GPUs; each batch goes through one of them, results yielded as completed."""
        ...

    def cluster(self) -> dict[str, Any]:
        """What ran the work, for a run's environment section: nodes, CPUs, GPUs, versions."""
        ...


def blocks(items: Iterable[T], workers: int, *, per_worker: int = 4, most: int = 256,
           least: int = 32) -> Iterator[list[T]]:
    """Items cut into blocks, each about 1/(`per_worker` x workers) of the items still left, largest first.

    At most `most` items a block, so a lost worker costs little to redo and memory in flight stays bounded; the
    blocks shrink towards the end (down to `least` items), so the workers finish together instead of one
    running a whole last block while the others wait (benchmarks/RESULTS.md, issue 17). A stream is read
    `per_worker` x workers x `most` items ahead: while more are left than that, every block has `most`, so the
    sizes are those of the whole sequence without holding it."""
    parts = max(1, workers * per_worker)
    source = iter(items)
    held: deque[T] = deque(islice(source, parts * most))
    while held:
        size = min(len(held), max(least, min(most, -(-len(held) // parts))))
        block = [held.popleft() for _ in range(size)]
        held.extend(islice(source, size))
        yield block
