"""What every gate check reads: the project, the store, the release plan, the commit; computed once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from qms.anomalies import Anomaly, load_register
from qms.config import Project
from qms.errors import QmsError
from qms.release_plan import ReleasePlan
from qms.soup import SoupList, collect
from qms.soup.inventory import Distribution, installed
from qms.store import Store
from qms.traceability import TraceReport, trace
from qms.traceability.cachetag import home_key
from qms.traceability.gitstate import git_state

__all__ = ["Commit", "GateContext", "git_commit"]


@dataclass(frozen=True)
class Commit:
    """The git commit the release is of, and whether the working tree has changes."""

    sha: str
    dirty: bool


def git_commit(project: Project) -> Commit:
    """HEAD and cleanliness, judged as the traceability capability judges test runs (records folder ignored)."""
    state = git_state(project.root, (project.records_dir,))
    if state.commit is None:
        raise QmsError("the project is not in a git repository with a commit", where=str(project.root),
                       hint="a release is of a commit: `git init` and commit the project")
    return Commit(state.commit, state.dirty)


class GateContext:
    """Inputs of the gate, each loaded on first use so a check that fails to load fails alone."""

    def __init__(self, project: Project, store: Store, plan: ReleasePlan,
                 previous_soup: tuple[str, dict[str, str]] | None = None, identity_dir: Path | None = None, *,
                 stat_cache: bool = False) -> None:
        self.project = project
        self.store = store
        self.plan = plan
        self.previous_soup = previous_soup
        self.identity_dir = identity_dir
        self.stat_cache = stat_cache
        """Whether evidence digests may be reused from the keyed stat cache, and the trace report from the records
        folder's caches (`qms verify`); a release re-hashes every file and builds the trace afresh."""

    @cached_property
    def commit(self) -> Commit:
        return git_commit(self.project)

    @cached_property
    def distributions(self) -> list[Distribution]:
        """The installed Python distributions, read once for both SOUP lists."""
        return installed()

    @cached_property
    def soup(self) -> SoupList:
        """Python distributions against the soup file (what check 5 judges); no native libraries."""
        return collect(self.project.path(self.plan.soup_file), self.previous_soup, native=False,
                       distributions=self.distributions)

    @cached_property
    def soup_with_native(self) -> SoupList:
        """The full SOUP list of the evidence documents, native libraries included."""
        return collect(self.project.path(self.plan.soup_file), self.previous_soup, distributions=self.distributions)

    @cached_property
    def anomalies(self) -> list[Anomaly]:
        return load_register(self.project.path(self.plan.anomaly_file))

    @cached_property
    def trace(self) -> TraceReport:
        """The traceability report of the project's design items and test results.

        `qms verify` reuses its caches in the records folder, each tagged under QMS_HOME's evidence cache key (one
        forged there is rebuilt); without QMS_HOME, and in a release, it is built afresh.
        """
        key = home_key(self.identity_dir) if self.stat_cache else None
        return trace(self.project, self.store, use_cache=key is not None, mac_key=key)
