"""OQ: the release gate must fail on a project with planted gaps, naming each (QMS-REQ-001, QMS-RC-001).

The planted project has a requirement no test verifies, a hazard with no risk control, and
a release plan naming a model version and a protocol that were never registered. A gate
that passes it, or that does not name one of the planted gaps, is a false pass.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from qms import atomic
from qms.config import load_project
from qms.errors import QmsError
from qms.findings import Finding
from qms.gate import verify
from qms.selftest.checks import Evidence
from qms.selftest.scratch import scratch_store

__all__ = ["PLANTED_GAPS", "check_gate"]

_FILES = {
    "qms.toml": '[tool.qms]\ndevice = "Planted Gaps (selftest)"\nintended_use = "none: a selftest fixture"\n'
                'safety_class = "B"\n',
    "design/items.yaml": (
        "id: NEED-001\ntype: need\ntitle: A planted need\ntext: A need of the planted project.\n---\n"
        "id: REQ-001\ntype: requirement\ntitle: A requirement no test verifies\nsafety_class: B\n"
        "text: The software shall be verified, and is not.\nparents:\n  - NEED-001\n---\n"
        "id: HAZ-001\ntype: hazard\ntitle: A hazard with no risk control\ntext: Nothing controls it.\n"
        "hazardous_situation: A planted situation.\nharm: A planted harm.\nseverity: 4\nprobability: 3\n"
        "residual_severity: 4\nresidual_probability: 3\n"),
    "release-plan.yaml": ("version: 0.0.1\nmodel: planted-model@9.9.9\nprotocols: [VAL-PLANTED-001]\n"
                          "signatures: {author: [a.person], reviewer: [b.person], approver: [c.person]}\n"),
}
PLANTED_GAPS = {("verification", "REQ-001"): "a requirement no test verifies",
                ("risk", "HAZ-001"): "a hazard with no risk control",
                ("validation", "VAL-PLANTED-001"): "a protocol never locked or run",
                ("validation", "model:planted-model@9.9.9"): "a model version never registered"}


def _commit(root: Path) -> None:
    """The planted project as one git commit: the gate judges a commit (git is a qmskit requirement)."""
    identity = ["-c", "user.name=qms selftest", "-c", "user.email=selftest@invalid", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "planted gaps"]):
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise QmsError(f"git failed in the workspace: {done.stderr.strip()}",
                           where=str(root), hint="qmskit needs git installed (apt-get install git)")


def check_gate(check: str, store_url: str | None, workspace: Path) -> tuple[list[Finding], Evidence]:
    root = workspace / "planted"
    for rel, content in _FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(root / rel, content)
    _commit(root)
    with scratch_store(store_url, workspace) as store:
        verdict = verify(load_project(root), store, workspace / "identities")
    findings: list[Finding] = []
    if verdict.passed:
        findings.append(Finding(check, "gate", "the gate passed a project with planted gaps (a false pass)",
                                "do not release with this installation; report it"))
    named = {(str(f.check), f.item) for f in verdict.findings}
    findings += [Finding(check, item, f"the gate's {criterion} criterion does not name the planted gap: {what}",
                         "the gate misses a gap in this environment; report it")
                 for (criterion, item), what in PLANTED_GAPS.items() if (criterion, item) not in named]
    failed = [o.check for o in verdict.outcomes if not o.passed]
    return findings, {"verdict": "pass" if verdict.passed else "fail", "criteria failed": ", ".join(failed),
                      "findings": str(len(verdict.findings))}
