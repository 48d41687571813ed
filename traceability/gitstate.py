"""The git state a test run or a trace is taken at: HEAD and whether the tree is clean.

A tree is dirty when a tracked file differs from HEAD or an untracked file is not
ignored: either way the code tested is not the commit. The project's own records folder
(the store and caches that `qms` writes) is left out. Outside a git repository there is
no commit, so nothing can be verified "at HEAD" (fail closed).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitState", "git_state", "head_commit"]


@dataclass(frozen=True)
class GitState:
    commit: str | None
    dirty: bool


def _git(root: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def head_commit(root: Path) -> str | None:
    """HEAD of the repository holding `root`, or None outside one."""
    commit = _git(root, "rev-parse", "--verify", "HEAD")
    return None if commit is None else commit.strip()


def git_state(root: Path, ignore: tuple[Path, ...] = ()) -> GitState:
    """HEAD and dirtiness of the repository holding `root`; paths under `ignore` do not count."""
    commit = _git(root, "rev-parse", "--verify", "HEAD")
    if commit is None:
        return GitState(None, True)
    top = _git(root, "rev-parse", "--show-toplevel")
    status = _git(root, "status", "--porcelain", "-z", "--untracked-files=all")
    if status is None or top is None:
        return GitState(commit.strip(), True)
    base = Path(top.strip()).resolve()
    skipped = tuple(p.resolve() for p in ignore)
    for entry in filter(None, status.split("\0")):
        if len(entry) < 4 or entry[2] != " ":
            continue  # the source path of a rename, which follows its entry
        path = (base / entry[3:]).resolve()
        if not any(path == s or s in path.parents for s in skipped):
            return GitState(commit.strip(), True)
    return GitState(commit.strip(), False)
