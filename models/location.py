"""Where a registered model version's files are: a path relative to the project, so a moved project finds its own.

Versions registered before relative paths were recorded hold an absolute path, which is
read as it is.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from qms.models.errors import ModelError

__all__ = ["folder_of", "stored_location"]


def stored_location(folder: Path, root: Path | None) -> str:
    """What the registry records: `folder` relative to the project root (POSIX), else its absolute path."""
    folder = folder.resolve()
    if root is not None and folder.is_relative_to(root.resolve()):
        return folder.relative_to(root.resolve()).as_posix() or "."
    return str(folder)


def folder_of(location: str, root: Path | None, ref: str) -> Path:
    """The folder a recorded location names, relative ones under the project root."""
    if Path(location).is_absolute():
        return Path(location)
    if root is None:
        raise ModelError(f"{ref} is recorded relative to its project ({location}), and no project root was given",
                         where=f"model:{ref}", hint="run the command inside the device project")
    return root / PurePosixPath(location)
