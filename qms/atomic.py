"""Atomic file output: a reader sees the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Literal

__all__ = ["atomic_writer", "write_bytes", "write_text"]


@contextmanager
def atomic_writer(path: Path, mode: Literal["wb"] = "wb", *, durable: bool = True) -> Iterator[BinaryIO]:
    """Write bytes to a temporary file beside `path`, fsync, then rename over it.

    On any error the temporary file is removed and `path` is left as it was. `durable=False`
    skips the fsync (still all-or-nothing for readers) for a batch that syncs once at its end
    and re-checks every file's hash before trusting it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    with atomic_writer(path, durable=durable) as f:
        f.write(data)


def write_text(path: Path, text: str) -> None:
    """UTF-8 text, written atomically, line endings as given."""
    write_bytes(path, text.encode("utf-8"))
