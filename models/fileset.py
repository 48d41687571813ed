"""A model folder's identity: every file's relative path, size and sha256, in a canonical order.

The version's digest is the sha256 of the canonical JSON of that list, so the same files
hash the same on every machine. `verify` is what every load runs: a changed, missing or
added file is refused, named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qms.hashing import digest_of, sha256_file
from qms.models.errors import ModelError, TamperedModel

__all__ = ["FileEntry", "FileSet"]


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class FileSet:
    """The files of a model folder, sorted by POSIX relative path."""

    entries: tuple[FileEntry, ...]

    def __post_init__(self) -> None:
        if not self.entries:
            raise ModelError("a model version needs at least one file")
        object.__setattr__(self, "entries", tuple(sorted(self.entries, key=lambda e: e.path)))

    @property
    def digest(self) -> str:
        return digest_of(self.to_json())

    def to_json(self) -> list[dict[str, Any]]:
        return [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in self.entries]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> FileSet:
        return cls(tuple(FileEntry(str(d["path"]), int(d["size"]), str(d["sha256"])) for d in data))

    @classmethod
    def of_folder(cls, folder: Path) -> FileSet:
        """Hash every regular file under `folder`; links and special files are refused, named."""
        if not folder.is_dir():
            raise ModelError("the model folder does not exist", where=str(folder))
        entries = []
        for path in sorted(folder.rglob("*")):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                raise ModelError("a model folder holds regular files only (a link or special file is here)",
                                 where=str(path), hint="copy the file into the folder instead of linking it")
            if path.is_file():
                entries.append(FileEntry(path.relative_to(folder).as_posix(), path.stat().st_size, sha256_file(path)))
        if not entries:
            raise ModelError("the model folder is empty", where=str(folder))
        return cls(tuple(entries))

    def verify(self, folder: Path) -> None:
        """Fail closed unless `folder` holds exactly these files with these hashes."""
        found = {e.path: e for e in FileSet.of_folder(folder).entries}
        for expected in self.entries:
            actual = found.pop(expected.path, None)
            if actual is None:
                raise TamperedModel("a file of the registered model version is missing", where=str(folder / expected.path),
                                    hint="restore the model folder exactly as it was registered")
            if actual.sha256 != expected.sha256:
                raise TamperedModel(
                    f"the file's sha256 {actual.sha256} differs from the registered {expected.sha256}",
                    where=str(folder / expected.path), hint="the model was changed after registration; register it as a new version")
        if found:
            extra = sorted(found)[0]
            raise TamperedModel("a file that is not part of the registered model version is in its folder",
                                where=str(folder / extra), hint="remove it, or register the folder as a new version")
