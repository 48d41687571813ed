"""`qms verify` for CI: exit 1 with every finding in JSON when the gate fails, exit 2 on a usage error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.commands.verify import print_verdict
from qms.cli.main import app
from qms.gate.findings import CheckOutcome, Verdict
from qms.store import open_store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage"


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qms", "out", "data", "__pycache__", ".pytest_cache"))
    open_store(f"sqlite:///{root / '.qms' / 'qms.db'}").dispose()
    return root


def test_failing_gate_exits_1_with_json_findings(tmp_path: Path) -> None:
    """Outside git, with nothing locked or run, the gate fails: exit 1, verdict fail, each finding has check/item/reason/hint."""
    result = CliRunner().invoke(app, ["-C", str(_project(tmp_path)), "verify", "--json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "fail"
    assert {"validation", "signatures"} <= {f["check"] for f in data["findings"]}
    assert all(set(f) == {"check", "item", "reason", "hint"} for f in data["findings"])


def test_missing_plan_is_a_usage_error(tmp_path: Path) -> None:
    """Without a release plan `qms verify` exits 2 and names the missing file."""
    root = _project(tmp_path)
    (root / "release-plan.yaml").unlink()
    result = CliRunner().invoke(app, ["-C", str(root), "verify"])
    assert result.exit_code == 2 and "release-plan.yaml" in result.output


def test_terminal_summary_names_each_check(tmp_path: Path) -> None:
    """The readable summary has one line per check and ends with FAIL."""
    result = CliRunner().invoke(app, ["-C", str(_project(tmp_path)), "verify"])
    assert result.exit_code == 1
    for title in ("SOUP list current", "no open anomaly above the threshold", "permitted sequencing"):
        assert title in result.output
    assert "FAIL" in result.output


def test_anomaly_list_marks_blocking(tmp_path: Path) -> None:
    """`qms anomaly list --json` lists the register and marks what blocks the planned release."""
    root = _project(tmp_path)
    path = root / "design" / "anomalies.yaml"
    path.write_text(path.read_text().replace("severity: minor", "severity: major", 1))
    result = CliRunner().invoke(app, ["-C", str(root), "anomaly", "list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {a["id"]: a["blocks_release"] for a in data["anomalies"]} == {"ANOM-001": True, "ANOM-002": False}


def test_soup_command_writes_the_sbom(tmp_path: Path) -> None:
    """`qms soup --sbom FILE --json` prints the SOUP list and writes a CycloneDX SBOM naming the device."""
    root = _project(tmp_path)
    sbom = tmp_path / "sbom.json"
    result = CliRunner().invoke(app, ["-C", str(root), "soup", "--sbom", str(sbom), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kind"] == "qms-soup/v1"
    assert json.loads(sbom.read_text())["metadata"]["component"]["name"] == "CXR Pneumothorax Triage"


def test_anomaly_list_refuses_a_missing_register(tmp_path: Path) -> None:
    """`qms anomaly list` with the plan's register deleted exits 2 naming the file, never "0 anomalies"."""
    root = _project(tmp_path)
    (root / "design" / "anomalies.yaml").unlink()
    result = CliRunner().invoke(app, ["-C", str(root), "anomaly", "list"])
    assert result.exit_code == 2, result.output
    assert "anomalies.yaml" in result.output and "does not exist" in result.output and "0 anomal" not in result.output


def test_a_check_with_nothing_to_examine_is_not_ticked(capsys: pytest.CaptureFixture[str]) -> None:
    """A criterion that passed having examined nothing (tool validation not required, say) gets a dash, never the
    tick of a check that ran and held; one that examined something keeps its tick."""
    print_verdict(Verdict((CheckOutcome("tool-validation", "qmskit validated", examined=0),
                           CheckOutcome("soup", "SOUP list current", examined=3)), subject={"device": "D"}))
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("– qmskit validated") and "nothing to examine" in line for line in lines)
    assert any(line.startswith("✓ SOUP list current") for line in lines)
    assert not any(line.startswith("✓ qmskit validated") for line in lines)
