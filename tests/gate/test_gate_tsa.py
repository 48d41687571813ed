"""Check 7 with a configured time-stamping authority: release signatures need trusted time, so the TSA must give it."""

from __future__ import annotations

import shutil
from pathlib import Path

from qms.config import load_project
from qms.gate.checks.signatures import SignaturesValid
from qms.gate.context import GateContext
from qms.release_plan import load_plan
from qms.signing import init_ca
from qms.signing.tsa import issue_tsa
from qms.store import open_store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage"
CA_PASS = "ca-passphrase-1"


def _context(tmp_path: Path) -> GateContext:
    """The example project with [tool.qms.signing] tsa = "local" and a CA in an identity directory."""
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qms", "out", "data", "__pycache__"))
    with (root / "qms.toml").open("a", encoding="utf-8") as f:
        f.write('\n[tool.qms.signing]\ntsa = "local"\n')
    project = load_project(root)
    init_ca(tmp_path / "home", "Example Imaging AI Ltd", CA_PASS)
    return GateContext(project, open_store(f"sqlite:///{tmp_path / 'qms.db'}"), load_plan(project),
                       identity_dir=tmp_path / "home")


def _tsa_findings(ctx: GateContext) -> list[str]:
    return [f.reason for f in SignaturesValid().evaluate(ctx).findings if f.item == "signing.tsa"]


def test_configured_tsa_that_cannot_timestamp_is_a_gate_finding(tmp_path: Path) -> None:
    """With tsa = "local" but no TSA issued, the gate names the TSA; once `issue_tsa` has run, that finding is gone."""
    ctx = _context(tmp_path)
    assert any("no time-stamping authority" in r for r in _tsa_findings(ctx))
    issue_tsa(tmp_path / "home", CA_PASS)
    assert _tsa_findings(ctx) == []
