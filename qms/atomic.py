"""Atomic file output: a reader sees the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Literal

from qms.errors import QmsError

__all__ = ["atomic_writer", "check_destination", "destination_error", "read_input", "source_error", "write_bytes", "write_private",
           "write_text"]


def destination_error(path: Path, exc: OSError) -> QmsError:
    """A user's error naming the output path and what is wrong with it (a folder, no folder, no permission)."""
    where = str(path)
    if path.is_dir():
        return QmsError("is a folder, not a file", where=where, hint="give a file name (inside the folder if you meant it)")
    missing = next((p for p in reversed(path.parents) if not p.is_dir()), None)
    if missing is not None and missing.exists():
        return QmsError(f"{missing} is a file, not a folder", where=where,
                        hint="give an output path whose folders are folders")
    if missing is not None:
        return QmsError(f"the folder {missing} does not exist and cannot be made", where=where,
                        hint="create the folder first, or give a path in an existing folder")
    if isinstance(exc, PermissionError):
        return QmsError("permission denied: cannot write here", where=where,
                        hint="give a path in a folder you can write to")
    return QmsError(f"cannot create a file in {path.parent}: {exc.strerror or type(exc).__name__}", where=where,
                    hint="give a path in an ordinary folder you can write to")


def check_destination(path: Path) -> None:
    """Refuse, before any long work, an output path that is a folder or lies under a file (a user's error)."""
    blocked = path.is_dir() or any(p.exists() and not p.is_dir() for p in path.parents)
    if blocked:
        raise destination_error(path, NotADirectoryError(path))


def source_error(path: Path, exc: OSError) -> QmsError:
    """A user's error naming an input path and what is wrong with it (missing, a folder, no permission)."""
    where = str(path)
    if path.is_dir():
        return QmsError("is a folder, not a file", where=where, hint="give the file's path")
    if isinstance(exc, FileNotFoundError) or not path.exists():
        return QmsError("the file does not exist", where=where, hint="check the path")
    if isinstance(exc, PermissionError):
        return QmsError("permission denied: cannot read the file", where=where, hint="give a file you can read")
    return QmsError(f"cannot read the file: {exc.strerror or type(exc).__name__}", where=where, hint="check the path")


def read_input(path: Path) -> bytes:
    """An input file's bytes; a missing file, a folder or an unreadable file is a user's error naming the path."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise source_error(path, exc) from None


@contextmanager
def atomic_writer(path: Path, mode: Literal["wb"] = "wb", *, durable: bool = True,
                  private: bool = False) -> Iterator[BinaryIO]:
    """Write bytes to a temporary file beside `path`, fsync, then rename over it.

    On any error the temporary file is removed and `path` is left as it was; a destination that
    cannot be written (a folder, a file where a folder should be, no permission) is a `QmsError`
    naming it (exit 2), not an internal error. `durable=False`
    skips the fsync (still all-or-nothing for readers) for a batch that syncs once at its end
    and re-checks every file's hash before trusting it. The file gets the permissions any
    new file gets under the user's umask (outputs are shared: trace pages, PDFs, bundles),
    or owner-only with `private`.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_beside(path, 0o600 if private else 0o666)
    except OSError as exc:
        raise destination_error(path, exc) from None
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise destination_error(path, exc) from None
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


def write_private(path: Path, data: bytes) -> None:
    """Write a key file readable by its owner only; never overwrite an existing key, never where a commit takes it."""
    from qms.home import refuse_committable

    refuse_committable(path, "a private key file")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
