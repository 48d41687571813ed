"""Atomic writes: the target holds the old content or the whole new content, never a part."""

from __future__ import annotations

import os
import stat
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


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_outputs_get_the_permissions_the_umask_gives(tmp_path: Path, umask: int, expected: int) -> None:
    """An output (trace page, PDF, bundle) is readable as the user's umask allows, not owner-only whatever it is."""
    before = os.umask(umask)
    try:
        atomic.write_bytes(tmp_path / "out.pdf", b"%PDF")
        atomic.write_bytes(tmp_path / "secret", b"key", private=True)
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "out.pdf").stat().st_mode) == expected
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600
