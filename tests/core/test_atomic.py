"""Atomic writes: the target holds the old content or the whole new content, never a part."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms import atomic


def test_write_replaces_whole_file(tmp_path: Path) -> None:
    """A completed write replaces the file and leaves no temporary file behind."""
    target = tmp_path / "sub" / "out.txt"
    atomic.write_text(target, "first")
    atomic.write_text(target, "second ✓")
    assert target.read_text(encoding="utf-8") == "second ✓"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failed_write_leaves_old_content(tmp_path: Path) -> None:
    """A write that fails half-way leaves the old file untouched and no partial file."""
    target = tmp_path / "out.bin"
    atomic.write_bytes(target, b"old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_writer(target) as f:
            f.write(b"new, partial")
            raise RuntimeError("disk went away")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
