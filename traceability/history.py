"""What a suspect link's parent said when the link was last reviewed, from git, beside what it says now.

A link keeps only the parent's fingerprint at its last review (`qms.traceability.review`).
To show a reviewer what changed, the parent's file is read back through its git history
until a version whose item has that fingerprint is found; the two texts are then compared
line by line. A fingerprint from outside the history (never committed) gives no old text,
and the reviewer is told so rather than shown a guess.
"""

from __future__ import annotations

import difflib
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qms.traceability.items import Item
from qms.traceability.parse import parse_bytes

__all__ = ["ParentChange", "fingerprints_at", "item_history", "parent_change"]

_MAX_COMMITS = 200


@dataclass(frozen=True)
class ParentChange:
    """The parent as reviewed (commit and text, when found) and as it is now, with a unified diff."""

    parent: str
    reviewed_fingerprint: str | None
    commit: str | None
    diff: tuple[str, ...]


def _git(root: Path, *args: str) -> bytes | None:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def _shown(item: Item) -> list[str]:
    """The item's meaning as lines: what its fingerprint covers."""
    lines = [f"title: {item.title}", *(f"{k}: {v}" for k, v in sorted(item.attributes.items()))]
    if item.safety_class:
        lines.append(f"safety_class: {item.safety_class}")
    return [*lines, "", *item.text.splitlines()]


def _reviewed_version(root: Path, parent: Item, fingerprint: str) -> tuple[str, Item] | None:
    log = _git(root, "log", f"-{_MAX_COMMITS}", "--format=%H", "--", parent.file)
    for commit in (log or b"").decode().split():
        data = _git(root, "show", f"{commit}:{parent.file}")
        if data is None:
            continue
        old = {i.id: i for i in parse_bytes(data, parent.file).items}.get(parent.id)
        if old is not None and old.fingerprint == fingerprint:
            return commit, old
    return None


def parent_change(root: Path, parent: Item, reviewed: str | None) -> ParentChange:
    """Diff of `parent` between the version a link last reviewed (`reviewed` fingerprint) and now."""
    found = _reviewed_version(root, parent, reviewed) if reviewed else None
    if found is None:
        return ParentChange(parent.id, reviewed, None, ())
    commit, old = found
    diff = difflib.unified_diff(_shown(old), _shown(parent), f"{parent.id} at {commit[:12]}", f"{parent.id} now", lineterm="")
    return ParentChange(parent.id, reviewed, commit, tuple(diff))


def item_history(root: Path, item: Item, limit: int = 10) -> list[tuple[str, str, str, str]]:
    """(commit, author, date, subject) of the last commits touching the item's file."""
    out = _git(root, "log", f"-{limit}", "--format=%h%x1f%an%x1f%as%x1f%s", "--", item.file)
    rows: list[tuple[str, str, str, str]] = []
    for line in (out or b"").decode(errors="replace").splitlines():
        parts = line.split("\x1f", 3)
        if len(parts) == 4:
            rows.append((parts[0], parts[1], parts[2], parts[3]))
    return rows


def fingerprints_at(root: Path, commit: str, items: Iterable[Item]) -> dict[str, str | None]:
    """Each item's fingerprint at `commit`, for the items whose file differs there from the working tree.

    An item absent from the result has the same file as then (so the same fingerprint); None means
    its file at that commit does not hold it (or git cannot say), so the change cannot be shown.
    """
    wanted = list(items)
    changed = _git(root, "diff", "--name-only", "--no-renames", commit, "--", *sorted({i.file for i in wanted}))
    if changed is None:
        return {i.id: None for i in wanted}
    files = set(changed.decode(errors="replace").splitlines())
    out: dict[str, str | None] = {}
    parsed: dict[str, dict[str, Item]] = {}
    for item in wanted:
        if item.file not in files:
            continue
        if item.file not in parsed:
            data = _git(root, "show", f"{commit}:{item.file}")
            parsed[item.file] = {} if data is None else {i.id: i for i in parse_bytes(data, item.file).items}
        old = parsed[item.file].get(item.id)
        out[item.id] = None if old is None else old.fingerprint
    return out
