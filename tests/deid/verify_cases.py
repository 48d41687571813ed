"""A de-identified folder with every kind of case `qms deid verify` tells apart, built from synthetic data.

Used by the verify tests of `tests/deid` and `tests/compute` (the same verdicts on every engine).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from qms.deid.keying import DeidKey
from qms.deid.manifest import FileEntry, Journal, read_head
from qms.deid.manifest_merge import finalize
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.synthetic import write_synthetic_tree

__all__ = ["PHI_NAME", "absent_entries", "mixed_folder"]

PHI_NAME = "2023-03-14_ct.dcm"
"""An output name holding a date, which the PHI detector finds without hints."""


def absent_entries(out: Path, count: int, *, start: int = 0) -> None:
    """Add `count` file entries to OUT's manifest whose outputs are not in OUT (removed since), as a batch's
    merge adds them; their names hold no PHI but the first's, when `start` is 0."""
    head = read_head(out)
    assert head is not None
    journal = Journal(out, head.header)
    for i in range(start, start + count):
        digest = hashlib.sha256(f"absent {i}".encode()).hexdigest()
        name = PHI_NAME if i == 0 else f"gone/{i:07d}.dcm"
        journal.append(FileEntry(name, digest, digest, f"PSEUDO{i % 7:04d}", None, {"D": 1}, None, None, digest[:32]))
    journal.close()
    finalize(out, head.header)


def mixed_folder(root: Path) -> tuple[Path, Path]:
    """(OUT, IN): qms's output of 13 synthetic files (two with the same bytes), then changed: an output removed,
    one replaced by its unchanged source, one whose source is gone from IN, a copied source and a text file
    that no manifest entry names, and a manifest entry naming a file not in OUT whose name holds PHI."""
    source, out = root / "in", root / "out"
    write_synthetic_tree(source, 12, patients=3)
    shutil.copy(source / "p0000/s0/i000000.dcm", source / "dup.dcm")
    run_batch(source, out, DeidKey(bytes(range(32))), DeidOptions())
    (out / "dup.dcm").unlink()
    shutil.copy(source / "p0000/s0/i000000.dcm", out / "p0000/s0/i000000.dcm")  # its source, unchanged
    (source / "p0002/s0/i000002.dcm").unlink()
    (out / "extra").mkdir()
    shutil.copy(source / "p0001/s1/i000004.dcm", out / "extra/copied.dcm")  # no manifest entry
    (out / "notes.txt").write_text("not DICOM\n")
    absent_entries(out, 1)
    return out, source
