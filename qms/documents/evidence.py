"""Everything the evidence documents show, gathered once per release as plain, JSON-able data.

The documents render from this one object, and the bundle carries the same data as JSON,
so the PDF, its HTML twin and the machine-readable files cannot disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Commit", "Evidence", "git_log"]


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    date: str
    summary: str


@dataclass
class Evidence:
    """The facts of one release: each list holds plain dicts in the shape the templates read."""

    release: dict[str, Any]
    project: dict[str, Any]
    verdict: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)
    trace_rows: list[dict[str, Any]] = field(default_factory=list)
    tests: list[dict[str, Any]] = field(default_factory=list)
    validation: list[dict[str, Any]] = field(default_factory=list)
    soup: dict[str, Any] = field(default_factory=dict)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    model_card: dict[str, Any] = field(default_factory=dict)
    deliverables: list[dict[str, Any]] = field(default_factory=list)

    def items_of(self, *types: str) -> list[dict[str, Any]]:
        return [i for i in self.items if i.get("type") in types]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def git_log(root: Path, since: str | None) -> list[Commit]:
    """Commits since the last release's commit (all of them for a first release), newest first."""
    import git

    repo = git.Repo(root, search_parent_directories=True)
    rev = f"{since}..HEAD" if since else "HEAD"
    try:
        commits = list(repo.iter_commits(rev, max_count=500))
    except git.GitCommandError:
        commits = list(repo.iter_commits("HEAD", max_count=500))
    return [Commit(c.hexsha, str(c.author.name), c.committed_datetime.isoformat(), str(c.summary)) for c in commits]
