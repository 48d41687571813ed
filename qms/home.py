"""Where a user's own qmskit files live (keys, identities, the checkpoint key): never inside a repository.

Its own module, light enough for the CLI's start-up and for the pytest plugin, which seals the test run it
records with the checkpoint key kept here.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from qms.errors import QmsError

__all__ = ["committed_into", "qms_home", "refuse_committable"]


def qms_home() -> Path:
    """QMS_HOME, else the platform's per-user configuration folder for qms."""
    from platformdirs import user_config_dir

    return Path(os.environ.get("QMS_HOME") or user_config_dir("qms"))


def committed_into(path: Path) -> Path | None:
    """The git work tree that `git add -A` would commit `path` into (inside it, not git-ignored), or None."""
    resolved = path.resolve()  # non-strict: the file need not exist yet
    top = next((folder for folder in resolved.parents if (folder / ".git").exists()), None)
    if top is None:
        return None
    try:
        ignored = subprocess.run(["git", "-C", str(top), "check-ignore", "-q", "--", str(resolved)],
                                 capture_output=True, check=False).returncode == 0
    except OSError:  # no git to ask: inside a work tree counts as committable
        return top
    return None if ignored else top


def refuse_committable(path: Path, what: str) -> None:
    """Refuse a secret (`what`: a key, a session token) where a commit would take it: before it is written, and
    before one already there is used."""
    top = committed_into(path)
    if top is not None:
        raise QmsError(f"{what} is inside the git work tree {top}, where `git add` would commit it",
                       where=str(path), hint="keep it outside every repository (QMS_HOME: a folder of your own, e.g. "
                                             "~/.config/qms; a de-identification key: e.g. ../deid.key), or git-ignore it")
