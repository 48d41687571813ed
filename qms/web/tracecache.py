"""The trace report, kept while nothing it depends on has changed (the design browser's warm path).

`qms.traceability.trace` rebuilds its report from its own file cache at each call (~0.3 s at
5,000 items); a page needs it at every click. The report depends on the design files, the
recorded test runs and the git HEAD, so it is kept under a key of the three: the design
folder's file names, sizes and modification times, the configuration, the audit trail's head (every recorded run
and review appends an event) and HEAD. Any change makes a new report; nothing is guessed.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from qms import audit
from qms.config import Project
from qms.home import qms_home
from qms.store import Store
from qms.traceability import TraceReport, trace
from qms.traceability.cachetag import home_key
from qms.traceability.gitstate import head_commit

__all__ = ["TraceCache", "design_signature"]


def design_signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime in ns) of every file under the design folder, sorted."""
    found: list[tuple[str, int, int]] = []
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                found.append((entry.path, st.st_size, st.st_mtime_ns))
    return tuple(sorted(found))


class TraceCache:
    """One report per key; concurrent requests for the same key build it once."""

    def __init__(self) -> None:
        self._key: object = None
        self._report: TraceReport | None = None
        self._lock = threading.Lock()

    def report(self, project: Project, store: Store) -> TraceReport:
        key = (str(project.root), project.config.model_dump_json(), design_signature(project.design_dir), audit.head(store),
               head_commit(project.root))
        with self._lock:
            if self._report is None or key != self._key:
                self._report = trace(project, store, mac_key=home_key(qms_home()))
                self._key = key
            return self._report
