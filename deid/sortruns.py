"""An external sort: records sorted in runs of at most `run` in memory, spilled to disk and merged.

The de-identification manifest is rewritten at the end of each batch as a merge of the previous
manifest with the batch's journal (`qms.deid.manifest_merge`); sorting it this way keeps the
driver's memory at one run whatever the number of files. The run files are this call's own
pickles in a folder the caller owns, read back only here.
"""

from __future__ import annotations

import heapq
import pickle
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["RUN", "sorted_records"]

RUN = 32_768
"""Records sorted in memory at once; more are sorted in runs on disk and merged."""
FAN_IN = 64
"""Runs merged at once (open files, one read buffer each); more are first merged into longer runs."""

Record = tuple[tuple[Any, ...], Any]
"""(key, value): records sort by key alone."""


def _spill(records: list[Record], folder: Path, number: int) -> Path:
    path = folder / f"run-{number}.pickle"
    records.sort(key=itemgetter(0))
    with path.open("wb") as f:
        for record in records:
            pickle.dump(record, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _read(f: BinaryIO) -> Iterator[Record]:
    while True:
        try:
            yield pickle.load(f)  # a run file this very call wrote
        except EOFError:
            return


def _merge_runs(runs: list[Path], folder: Path, fan_in: int) -> list[Path]:
    """Runs merged `fan_in` at a time into longer ones until at most `fan_in` are left."""
    number = len(runs)
    while len(runs) > fan_in:
        merged: list[Path] = []
        for start in range(0, len(runs), fan_in):
            group = runs[start:start + fan_in]
            path = folder / f"run-{number}.pickle"
            number += 1
            with ExitStack() as stack, path.open("wb") as f:
                readers = [_read(stack.enter_context(p.open("rb"))) for p in group]
                for record in heapq.merge(*readers, key=itemgetter(0)):
                    pickle.dump(record, f, protocol=pickle.HIGHEST_PROTOCOL)
            for p in group:
                p.unlink()
            merged.append(path)
        runs = merged
    return runs


def sorted_records(records: Iterable[Record], folder: Path, *, run: int = RUN,
                   fan_in: int = FAN_IN) -> Iterator[Record]:
    """`records` in key order (stable for equal keys: the order they came in); `folder` holds the runs."""
    runs: list[Path] = []
    held: list[Record] = []
    for record in records:
        held.append(record)
        if len(held) >= run:
            runs.append(_spill(held, folder, len(runs)))
            held = []
    if not runs:
        held.sort(key=itemgetter(0))
        yield from held
        return
    if held:
        runs.append(_spill(held, folder, len(runs)))
        held = []
    runs = _merge_runs(runs, folder, fan_in)
    with ExitStack() as stack:
        readers = [_read(stack.enter_context(path.open("rb"))) for path in runs]
        yield from heapq.merge(*readers, key=itemgetter(0))  # stable: equal keys come from earlier runs first
    for path in runs:
        path.unlink(missing_ok=True)
