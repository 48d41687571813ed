"""Atomic file output: a reader sees the old file or the whole new one, never a part."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def atomic_writer(path: Path, mode: str = "wb") -> Iterator[IO[bytes]] | Iterator[IO[str]]:
    """Write to a temporary file beside `path`, fsync, then rename over it; on error, nothing is left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as f:
            yield f  # type: ignore[misc]
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path, "wb") as f:
        f.write(data)  # type: ignore[arg-type]


def write_text(path: Path, text: str) -> None:
    with atomic_writer(path, "w") as f:
        f.write(text)  # type: ignore[arg-type]
