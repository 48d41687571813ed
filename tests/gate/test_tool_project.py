"""Tool projects (`kind = "tool"`): the gate leaves out only the model and protocol criteria, names them, and still fails on gaps."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from qms.config import ProjectKind, load_project
from qms.errors import ConfigError
from qms.gate import release_gate, verify
from qms.gate.checks.evidence import EvidenceIntact
from qms.gate.checks.validation import ProtocolsPassed
from qms.gate.findings import NotApplicable
from qms.gate.policy import AllOf
from qms.release_plan import load_plan
from tests.release.demo_org import DemoOrg, demo_org

pytestmark = pytest.mark.verifies("QMS-REQ-001", "QMS-RC-001")

_MODEL_LINES = ("model: cxr-triage-vit@1.0.0\n", "protocols:\n  - VAL-PERF-001\n  - VAL-BIAS-001\n")
_REQUIREMENT = ("id: REQ-900\ntype: requirement\ntitle: A planted requirement\nsafety_class: B\n"
                "text: The tool shall do what no test verifies.\n")


def _commit(root: Path) -> None:
    """The project as one git commit on a clean tree, as the gate requires."""
    identity = ["-c", "user.name=Test", "-c", "user.email=test@example.org"]
    for args in (["init", "-q"], ["add", "-A"], [*identity, "commit", "-q", "-m", "tool project"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def _set_kind(root: Path, kind: str) -> None:
    path = root / "qms.toml"
    path.write_text(path.read_text().replace('safety_class = "B"', f'safety_class = "B"\nkind = "{kind}"', 1))


def _drop_model(root: Path) -> None:
    path = root / "release-plan.yaml"
    text = path.read_text()
    for line in _MODEL_LINES:
        assert line in text
        text = text.replace(line, "")
    path.write_text(text)


@pytest.fixture
def tool(tmp_path: Path) -> DemoOrg:
    """The example organisation as a tool project: no model, no protocols, no design items of its own yet."""
    org = demo_org(tmp_path)
    _set_kind(org.root, "tool")
    _drop_model(org.root)
    for path in (org.root / "design").glob("*.yaml"):
        if path.name != "anomalies.yaml":
            path.unlink()
    shutil.rmtree(org.root / "tests")
    shutil.rmtree(org.root / "protocols")
    return org


def test_a_tool_project_without_a_model_passes_naming_the_criteria_left_out(tool: DemoOrg) -> None:
    """A tool project whose plan names no model passes the gate, and its verdict names the model and protocol criteria as not applicable with their reasons."""
    _commit(tool.root)
    verdict = verify(tool.project, tool.store, tool.home)
    assert verdict.passed, verdict.findings
    data = verdict.to_json()
    assert data["verdict"] == "pass"
    assert data["subject"]["kind"] == "tool" and data["subject"]["model"] is None
    assert {n["check"] for n in data["not_applicable"]} == {ProtocolsPassed.name, EvidenceIntact.name}
    assert all("tool project" in n["reason"] for n in data["not_applicable"])
    ran = {c["check"] for c in data["checks"]}
    assert ran.isdisjoint({ProtocolsPassed.name, EvidenceIntact.name})
    assert {"design", "verification", "risk", "soup", "anomalies", "signatures", "authority", "audit",
            "tool-validation"} <= ran


def test_a_tool_verdict_still_fails_on_a_planted_gap(tool: DemoOrg) -> None:
    """In a tool project, a requirement no test verifies and a tool validation the plan requires but nobody ran each fail the gate, naming the item."""
    (tool.root / "design" / "requirements.yaml").write_text(_REQUIREMENT)
    plan = tool.root / "release-plan.yaml"
    plan.write_text(plan.read_text() + "tool_validation: required\n")
    _commit(tool.root)
    verdict = verify(tool.project, tool.store, tool.home)
    assert not verdict.passed
    failed = {(f.check, f.item.split("@")[0]) for f in verdict.findings}
    assert ("verification", "REQ-900") in failed
    assert ("tool-validation", "qmskit") in failed
    assert verdict.to_json()["not_applicable"]


def test_a_device_plan_without_a_model_is_an_error_naming_the_key(tmp_path: Path) -> None:
    """A device project's release plan that omits `model` is a configuration error naming the key; the device gate is not relaxed."""
    org = demo_org(tmp_path)
    _drop_model(org.root)
    with pytest.raises(ConfigError, match="missing required key 'model'") as info:
        load_plan(org.project)
    hint = info.value.hint or ""
    assert "model: NAME@VERSION" in hint and 'kind = "tool"' in hint
    _set_kind(org.root, "device")
    with pytest.raises(ConfigError, match="'model'"):
        load_plan(org.project)


def test_a_tool_plan_naming_a_model_or_protocols_is_an_error(tmp_path: Path) -> None:
    """A tool project's plan that names a model or protocols is refused, so no one reads the tool gate as having judged them."""
    org = demo_org(tmp_path)
    _set_kind(org.root, "tool")
    with pytest.raises(ConfigError, match="names no model") as caught:
        load_plan(org.project)
    assert caught.value.where is not None and caught.value.where.endswith("model")
    plan = org.root / "release-plan.yaml"
    plan.write_text(plan.read_text().replace(_MODEL_LINES[0], ""))
    with pytest.raises(ConfigError, match="names no protocols"):
        load_plan(org.project)


def test_the_device_gate_keeps_every_criterion() -> None:
    """The device gate runs every criterion, the model and protocol ones included, and declares none not applicable."""
    device, tool = release_gate(ProjectKind.DEVICE), release_gate(ProjectKind.TOOL)
    assert device.not_applicable == ()
    names = {c.name for c in device.checks}
    assert {ProtocolsPassed.name, EvidenceIntact.name} <= names
    assert {c.name for c in tool.checks} | {n.check for n in tool.not_applicable} == names


def test_a_criterion_cannot_both_run_and_be_not_applicable() -> None:
    """A gate that lists a criterion as run and as not applicable, or leaves one out without a reason, is refused."""
    with pytest.raises(ValueError, match="unique"):
        AllOf([ProtocolsPassed()], [NotApplicable(ProtocolsPassed.name, ProtocolsPassed.title, "a reason")])
    with pytest.raises(ValueError, match="without a reason"):
        NotApplicable(EvidenceIntact.name, EvidenceIntact.title, "")


def test_an_unknown_project_kind_names_the_allowed_values(tmp_path: Path) -> None:
    """`kind` other than device or tool is a configuration error that names the allowed values."""
    (tmp_path / "qms.toml").write_text('[tool.qms]\ndevice = "D"\nintended_use = "u"\nsafety_class = "B"\nkind = "app"\n')
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert "kind" in caught.value.message and "device" in (caught.value.hint or "")
