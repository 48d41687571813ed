"""Each release's verdicts for the dashboard: the gate's verdict recorded when it was authored, and its bundle's check.

The authored release folder carries the gate's verdict (`data/evidence.json`), whose digest
the authored step recorded: the page shows it only when the two agree, and says so when they
do not. A bundled release is also verified offline as `qms bundle verify` does (the
organisation's CAs, its published CRLs, the store's revocations); that result is kept while
the bundle file is unchanged, since it takes a second or more.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from qms.config import Project
from qms.findings import Finding, Severity
from qms.hashing import digest_of
from qms.release.assembly import bundle_path
from qms.release.bundle import BundleReport, verify_bundle
from qms.release.service import release_dir
from qms.release_steps import ReleaseStep
from qms.signing.crl import published_crls
from qms.signing.trust import Trust, load_anchors
from qms.store import Store
from qms.web.releases_view import ReleaseSummary

__all__ = ["BundleChecks", "ReleaseVerdict", "release_verdicts"]

EVIDENCE = Path("data") / "evidence.json"


@dataclass(frozen=True)
class ReleaseVerdict:
    """`gate`: "pass" / "fail" as recorded at authoring, or None with `problem` saying why it cannot be shown."""

    release: ReleaseSummary
    gate: str | None
    findings: tuple[Finding, ...]
    problem: str | None
    bundle: BundleReport | None


def _finding(data: dict[str, object]) -> Finding:
    return Finding(str(data.get("check", "")), None if data.get("item") is None else str(data["item"]),
                   str(data.get("reason", "")), str(data.get("hint", "")),
                   None if data.get("where") is None else str(data["where"]),
                   Severity(str(data.get("severity", Severity.ERROR.value))))


def recorded_verdict(folder: Path, authored: ReleaseStep) -> tuple[str | None, tuple[Finding, ...], str | None]:
    """(verdict, findings, problem) from the release folder, checked against the authored step's digest."""
    try:
        verdict = json.loads((folder / EVIDENCE).read_bytes())["verdict"]
    except (OSError, ValueError, KeyError, TypeError):
        return None, (), f"the release folder holds no gate verdict ({EVIDENCE})"
    if digest_of(verdict) != authored.verdict_digest:
        return None, (), "the verdict in the release folder is not the one recorded when the release was authored"
    return str(verdict.get("verdict")), tuple(_finding(f) for f in verdict.get("findings", [])), None


class BundleChecks:
    """Offline verification of each bundle, kept per (path, size, modification time)."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, int, int], BundleReport] = {}
        self._lock = threading.Lock()

    def report(self, path: Path, store: Store, identity_dir: Path) -> BundleReport | None:
        try:
            st = path.stat()
        except OSError:
            return None
        key = (str(path), st.st_size, st.st_mtime_ns)
        with self._lock:
            if key not in self._done:
                crls = [(p.read_bytes(), str(p)) for p in published_crls(identity_dir)]
                self._done[key] = verify_bundle(path, load_anchors(identity_dir), crls=crls,
                                                revocations=dict(Trust.from_store(store).revocations))
            return self._done[key]


def release_verdicts(project: Project, store: Store, identity_dir: Path, releases: list[ReleaseSummary],
                     checks: BundleChecks) -> list[ReleaseVerdict]:
    found = []
    for r in releases:
        gate, findings, problem = recorded_verdict(release_dir(project, r.version), r.steps[0])
        bundled = checks.report(bundle_path(project, r.version), store, identity_dir) if r.state == "bundled" else None
        found.append(ReleaseVerdict(r, gate, findings, problem, bundled))
    return found
