"""Atomic file output: a reader sees the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Literal

__all__ = ["atomic_writer", "write_bytes", "write_text"]


@contextmanager
def atomic_writer(path: Path, mode: Literal["wb"] = "wb", *, durable: bool = True,
                  private: bool = False) -> Iterator[BinaryIO]:
    """Write bytes to a temporary file beside `path`, fsync, then rename over it.

    On any error the temporary file is removed and `path` is left as it was. `durable=False`
    skips the fsync (still all-or-nothing for readers) for a batch that syncs once at its end
    and re-checks every file's hash before trusting it. The file gets the permissions any
    new file gets under the user's umask (outputs are shared: trace pages, PDFs, bundles),
    or owner-only with `private`.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_beside(path, 0o600 if private else 0o666)
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


def _create_beside(path: Path, permissions: int) -> tuple[int, str]:
    """A new, exclusive temporary file in `path`'s folder; the kernel applies the umask to `permissions`."""
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.part")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), permissions), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_bytes(path: Path, data: bytes, *, durable: bool = True, private: bool = False) -> None:
    with atomic_writer(path, durable=durable, private=private) as f:
        f.write(data)


def write_text(path: Path, text: str) -> None:
    """UTF-8 text, written atomically, line endings as given."""
    write_bytes(path, text.encode("utf-8"))
