"""A resumed batch's "done" table: the manifest looked up by input sha256, never loaded.

The manifest's file lines are sorted by (input sha256, output) (`qms.deid.manifest`), so the
entries of one input are found by binary search over the file's bytes, a few lines read per
lookup. A `DoneLookup` is a small picklable value (the manifest's path): each worker maps the
file itself on first use. The manifest is replaced by rename at the end of a batch, so a worker's
mapping of the file it opened stays whole while the batch runs.
"""

from __future__ import annotations

import json
import mmap
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from qms.deid.manifest import FileEntry

__all__ = ["DoneLookup"]

_BEFORE, _DONE, _AFTER = 0, 1, 2


def _rank(item: dict[str, Any]) -> int:
    status = item.get("status")
    return _BEFORE if status in (None, "batch") else _DONE if status == "done" else _AFTER


@dataclass(frozen=True)
class DoneLookup:
    """The de-identified entries of a manifest by input sha256; `path` None: a folder with no manifest yet."""

    path: Path | None

    @cached_property
    def _map(self) -> mmap.mmap | None:
        if self.path is None:
            return None
        with self.path.open("rb") as f:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}  # mapped again where it runs

    def _start(self, m: mmap.mmap, p: int) -> int:
        """The first line starting at or after byte `p`."""
        if p == 0:
            return 0
        found = m.find(b"\n", p - 1)
        return len(m) if found < 0 else found + 1

    def _key(self, m: mmap.mmap, start: int) -> tuple[int, str]:
        end = m.find(b"\n", start)
        item = json.loads(m[start:end if end >= 0 else len(m)])
        return _rank(item), str(item.get("input_sha256", ""))

    def get(self, digest: str) -> tuple[FileEntry, ...]:
        """Every de-identified entry whose input had this sha256 (several: the same bytes at several paths)."""
        m = self._map
        if m is None:
            return ()
        target = (_DONE, digest)
        lo, hi = 0, len(m)
        while lo < hi:  # the least byte whose next line's key is not below the target
            mid = (lo + hi) // 2
            start = self._start(m, mid)
            if start < len(m) and self._key(m, start) < target:
                lo = mid + 1
            else:
                hi = mid
        found: list[FileEntry] = []
        start = self._start(m, lo)
        while start < len(m):
            end = m.find(b"\n", start)
            end = len(m) if end < 0 else end
            item = json.loads(m[start:end])
            if item.get("status") != "done" or item.get("input_sha256") != digest:
                break
            found.append(FileEntry.from_json(item))
            start = end + 1
        return tuple(found)
