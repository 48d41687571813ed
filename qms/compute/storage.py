"""Where files live: a local folder, or a folder behind an fsspec URL (s3://, gs://, memory://, file://).

Per-file functions run on workers, so a `Storage` is a small picklable value (its URL); each
worker opens the filesystem itself on first use, with the credentials of its own environment
(never in the pickled state). A local path or `file://` URL needs nothing more; fsspec is a
core dependency, and a scheme that needs its own package (s3fs, gcsfs: the `storage` extra) is
refused, naming the URL and the package, before any work is handed out. The in-memory
filesystem (`memory://`) lives in one process: it serves the local engine (this process or a
fork pool), not Ray workers. A local folder is listed as a stream (one directory's names at a
time); a remote one through `fs.find`, which lists the prefix at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

from qms.errors import QmsError

__all__ = ["Storage"]


def _scheme(url: str) -> str:
    scheme, sep, _ = url.partition("://")
    return scheme.lower() if sep and scheme.isidentifier() else ""


@dataclass(frozen=True)
class Storage:
    """A folder of files named by relative '/' paths: `url` is a local path or `scheme://bucket/prefix`."""

    url: str

    def __post_init__(self) -> None:
        if _scheme(self.url) not in ("", "file"):
            _ = self._remote  # refuses a scheme whose package is missing before any work is handed out

    @property
    def local(self) -> Path | None:
        """The folder on this machine, or None for a remote URL."""
        scheme = _scheme(self.url)
        if scheme == "":
            return Path(self.url)
        return Path(self.url[len("file://"):]) if scheme == "file" else None

    @cached_property
    def _remote(self) -> tuple[Any, str]:
        """(fsspec filesystem, root path inside it), opened once per process."""
        scheme = _scheme(self.url)
        import fsspec
        from fsspec.registry import known_implementations

        try:
            fs, root = fsspec.core.url_to_fs(self.url)
        except ImportError:
            package = str(known_implementations.get(scheme, {}).get("class", scheme)).partition(".")[0]
            raise QmsError(f"{self.url}: {scheme}:// URLs need the package {package!r}, which is not installed",
                           where=self.url, hint=f"pip install 'qmskit[storage]' (or pip install {package})") from None
        except ValueError as exc:
            raise QmsError(f"not a storage URL: {exc}", where=self.url) from None
        return fs, str(root).rstrip("/")

    def __getstate__(self) -> dict[str, Any]:
        return {"url": self.url}  # the filesystem is opened again where it runs

    def where(self, rel: str) -> str:
        """The file's full name, for messages."""
        local = self.local
        return str(local / rel) if local is not None else f"{self.url.rstrip('/')}/{rel}"

    def is_dir(self) -> bool:
        local = self.local
        if local is not None:
            return local.is_dir()
        fs, root = self._remote
        return bool(fs.isdir(root))

    def read_bytes(self, rel: str) -> bytes:
        local = self.local
        if local is not None:
            return (local / rel).read_bytes()
        fs, root = self._remote
        return bytes(fs.cat_file(f"{root}/{rel}"))

    def files(self) -> Iterator[str]:
        """Every file's relative '/' path, in sorted order (of the path's parts, as `sorted(Path.rglob)`)."""
        local = self.local
        if local is not None:
            yield from _walk(local, "")
            return
        fs, root = self._remote
        for name in sorted(fs.find(root)):
            yield PurePosixPath(str(name)).relative_to(root).as_posix()


def _walk(folder: Path, prefix: str) -> Iterator[str]:
    """A folder's files depth first, names sorted within each folder: one folder's names held at a time."""
    with os.scandir(folder) as it:
        names = sorted((e.name, e.is_dir(follow_symlinks=False), e.is_file()) for e in it)
    for name, is_dir, is_file in names:
        if is_dir:
            yield from _walk(folder / name, f"{prefix}{name}/")
        elif is_file:
            yield prefix + name
