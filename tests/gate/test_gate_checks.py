"""The release gate: each kind of gap fails its check with a finding naming the item; a check that cannot run fails closed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qms.anomalies import AnomalySeverity, AnomalyStatus, blocking, load_register
from qms.config import load_project
from qms.errors import ConfigError
from qms.findings import Finding
from qms.gate.checks.anomalies import AnomaliesBelowThreshold
from qms.gate.checks.completeness import DeliverablesComplete
from qms.gate.checks.soup import SoupCurrent
from qms.gate.context import GateContext
from qms.gate.findings import Verdict
from qms.gate.policy import AllOf, Criterion
from qms.release_plan import load_plan
from qms.soup import installed
from qms.store import Store, open_store

pytestmark = pytest.mark.verifies("QMS-REQ-001", "QMS-RC-001")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage"


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qms", "out", "data", "__pycache__"))
    return root


@pytest.fixture
def ctx(project_dir: Path, tmp_path: Path) -> GateContext:
    project = load_project(project_dir)
    store: Store = open_store(f"sqlite:///{tmp_path / 'qms.db'}")
    return GateContext(project, store, load_plan(project))


def _items(findings: tuple[Finding, ...]) -> set[str]:
    return {f.item for f in findings}


def test_anomaly_above_threshold_blocks(ctx: GateContext, project_dir: Path) -> None:
    """An open anomaly more severe than the plan's threshold is a finding naming the anomaly."""
    path = project_dir / "design" / "anomalies.yaml"
    path.write_text(path.read_text().replace("severity: minor", "severity: critical"))
    outcome = AnomaliesBelowThreshold().evaluate(ctx)
    assert not outcome.passed and _items(outcome.findings) == {"ANOM-001"}


def test_residual_anomaly_needs_evaluation(ctx: GateContext, project_dir: Path) -> None:
    """A residual anomaly at or below the threshold still needs its safety evaluation (IEC 62304 §5.8.3)."""
    path = project_dir / "design" / "anomalies.yaml"
    path.write_text("anomalies:\n  - id: ANOM-009\n    title: t\n    severity: minor\n    status: open\n")
    outcome = AnomaliesBelowThreshold().evaluate(ctx)
    assert [f.item for f in outcome.findings] == ["ANOM-009"] and "evaluation" in outcome.findings[0].reason


def test_example_anomalies_pass(ctx: GateContext) -> None:
    """The example's register (one open minor, one resolved major) passes at threshold minor."""
    assert AnomaliesBelowThreshold().evaluate(ctx).passed


def test_anomaly_register_errors_name_file_and_line(tmp_path: Path) -> None:
    """A bad severity in the register is an error naming file:line and the allowed values."""
    path = tmp_path / "a.yaml"
    path.write_text("anomalies:\n  - id: ANOM-001\n    title: ok\n    severity: minor\n    status: open\n"
                    "  - id: ANOM-002\n    title: bad\n    severity: huge\n    status: open\n")
    with pytest.raises(ConfigError) as exc:
        load_register(path)
    assert exc.value.where == f"{path}:6" and "minor, major, critical" in (exc.value.hint or "")


def test_blocking_ignores_resolved() -> None:
    """A resolved anomaly never blocks, however severe it was."""
    from qms.anomalies import Anomaly

    a = Anomaly("A-1", "t", AnomalySeverity.CRITICAL, AnomalyStatus.RESOLVED, "fixed", "f:1")
    b = Anomaly("A-2", "t", AnomalySeverity.MAJOR, AnomalyStatus.DEFERRED, "later", "f:2")
    assert blocking([a, b], AnomalySeverity.MINOR) == [b]


def test_soup_version_change_is_a_finding(ctx: GateContext, project_dir: Path) -> None:
    """A dependency reviewed at another version than the installed one fails the SOUP check, naming it."""
    path = project_dir / "soup.yaml"
    path.write_text(path.read_text().replace('version: "3.0.2"', 'version: "2.0.0"'))
    outcome = SoupCurrent().evaluate(ctx)
    assert _items(outcome.findings) == {"SOUP:pydicom"} and "2.0.0" in outcome.findings[0].reason


def test_soup_entry_not_installed(ctx: GateContext, project_dir: Path) -> None:
    """A soup entry for a distribution that is not installed is a finding."""
    path = project_dir / "soup.yaml"
    text = path.read_text().replace("name: pylibjpeg\n", "name: no-such-dist-xyz\n")
    path.write_text(text)
    assert "SOUP:no-such-dist-xyz" in _items(SoupCurrent().evaluate(ctx).findings)


def test_example_soup_is_current(ctx: GateContext) -> None:
    """The example's soup file matches this environment's versions, and lists native libraries."""
    outcome = SoupCurrent().evaluate(ctx)
    assert outcome.passed, outcome.findings
    assert outcome.examined == len(installed())
    assert any(n.package.startswith("libpango") for n in ctx.soup_with_native.native)


def test_missing_referenced_deliverable(ctx: GateContext, project_dir: Path) -> None:
    """Class B needs a maintenance plan (IEC 62304 §6); a missing referenced file is a finding."""
    (project_dir / "docs" / "maintenance-plan.md").unlink()
    outcome = DeliverablesComplete().evaluate(ctx)
    assert len(outcome.findings) == 1 and "maintenance plan" in outcome.findings[0].reason


def test_class_c_needs_more_deliverables(ctx: GateContext, project_dir: Path) -> None:
    """Raising the safety class to C adds the deliverables qmskit does not generate (detailed design, ...)."""
    cfg = project_dir / "qms.toml"
    cfg.write_text(cfg.read_text().replace('safety_class = "B"', 'safety_class = "C"'))
    project = load_project(project_dir)
    outcome = DeliverablesComplete().evaluate(GateContext(project, ctx.store, ctx.plan))
    assert {f.reason.split("deliverable ")[1].split(" ")[0] for f in outcome.findings} == {"2c", "4b", "6a", "7b"}


class _Broken(Criterion[GateContext]):
    name = "broken"
    title = "a check that raises"

    def run(self, ctx: GateContext) -> tuple[list[Finding], int]:
        raise RuntimeError("boom")


def test_check_that_raises_fails_closed(ctx: GateContext) -> None:
    """A check that raises yields a finding, and the verdict is fail, never a silent pass."""
    verdict = AllOf([_Broken(), AnomaliesBelowThreshold()]).evaluate(ctx)
    assert not verdict.passed and verdict.findings[0].check == "broken" and "boom" in verdict.findings[0].reason


def test_empty_verdict_does_not_pass() -> None:
    """A verdict with no checks run is not a pass."""
    assert not Verdict(()).passed
    with pytest.raises(ValueError):
        AllOf([])


def test_plan_requires_every_role(project_dir: Path) -> None:
    """A release plan without an approver is a usage error naming the plan."""
    path = project_dir / "release-plan.yaml"
    path.write_text(path.read_text().replace("  approver: [demo.approver]\n", ""))
    with pytest.raises(ConfigError) as exc:
        load_plan(load_project(project_dir))
    assert "approver" in exc.value.message


def test_unlocked_protocol_is_a_finding(ctx: GateContext) -> None:
    """A protocol the plan names but nobody locked fails the validation check, naming the protocol."""
    from qms.gate.checks.validation import ProtocolsPassed

    outcome = ProtocolsPassed().evaluate(ctx)
    assert {(f.item, f.reason) for f in outcome.findings} >= {("VAL-PERF-001", "the protocol is not locked"),
                                                              ("VAL-BIAS-001", "the protocol is not locked")}


def test_an_unregistered_model_is_named_with_how_to_register_it(ctx: GateContext) -> None:
    """A plan naming a model that is not in the registry says so and how to register it, never to run a protocol first."""
    from qms.gate.checks.validation import ProtocolsPassed

    outcome = ProtocolsPassed().evaluate(ctx)
    [model] = [f for f in outcome.findings if f.item == f"model:{ctx.plan.model}"]
    assert model.reason == f"model {ctx.plan.model} is not registered" and "qms model register" in model.hint
    assert not any("validate run" in f.hint for f in outcome.findings)


def test_a_model_still_in_development_is_a_finding_until_it_is_staged(ctx: GateContext, project_dir: Path) -> None:
    """A registered release model still in development fails the gate before anyone signs (the approval would refuse
    it only after the author and reviewer had signed); staged for release, the finding is gone."""
    from qms.gate.checks.validation import ProtocolsPassed
    from qms.models import registry
    from qms.models.stages import Stage, change_stage
    from tests.models.helpers import vit_folder

    name, version = ctx.plan.model_ref.split("@")
    registry.register(ctx.store, vit_folder(project_dir / "models" / name), name=name, version=version,
                      actor="demo.author", root=project_dir)
    item = f"model:{ctx.plan.model}"
    [finding] = [f for f in ProtocolsPassed().evaluate(ctx).findings if f.item == item]
    assert "still in development" in finding.reason and "qms model stage" in finding.hint
    change_stage(ctx.store, ctx.plan.model_ref, Stage.STAGING, actor="demo.author", reason="release candidate")
    assert not [f for f in ProtocolsPassed().evaluate(ctx).findings if f.item == item]


def test_unregistered_signers_are_a_finding(ctx: GateContext, tmp_path: Path) -> None:
    """A role whose named signers are not registered cannot be signed: one finding per role."""
    from qms.gate.checks.signatures import SignaturesValid

    ctx.identity_dir = tmp_path / "home"
    outcome = SignaturesValid().evaluate(ctx)
    assert {f.item for f in outcome.findings} == {"role:author", "role:reviewer", "role:approver"}


def test_approval_before_review_is_a_sequencing_finding(ctx: GateContext) -> None:
    """A release approved without a recorded authorship and review breaks the permitted sequence (11.10(f))."""
    from qms.gate.checks.sequencing import Sequencing
    from qms.release_steps import ReleaseStep

    ctx.store.add(ReleaseStep(version="1.0.0", step="approved", actor="x", commit="c", model="m@1", plan_digest="p",
                              verdict_digest="v", documents="{}", soup="{}"))
    outcome = Sequencing().evaluate(ctx)
    assert any("approved by x before authored, reviewed" in f.reason for f in outcome.findings)


def test_a_missing_anomaly_register_is_a_finding_not_an_empty_register(ctx: GateContext, project_dir: Path) -> None:
    """The anomaly register the plan names, deleted, fails the anomalies check naming the file; never "0 anomalies"."""
    register = project_dir / "design" / "anomalies.yaml"
    register.unlink()
    outcome = AnomaliesBelowThreshold().evaluate(ctx)
    assert not outcome.passed and outcome.findings[0].item == str(register)
    assert "does not exist" in outcome.findings[0].reason and "anomaly_file" in outcome.findings[0].hint
    with pytest.raises(ConfigError):
        load_register(register)
    assert load_register(register, missing_ok=True) == []  # only where a first entry is being written


@pytest.mark.parametrize(("entry", "words"), [
    ('"99": docs/maintenance-plan.md', "'99' is not an IEC 62304 deliverable number"),
    ('"2c": design', "design, which is a folder"),
    ('"2b": docs/no-such-file.md', "docs/no-such-file.md, which does not exist"),
])
def test_every_references_entry_names_a_deliverable_and_an_existing_file(
        project_dir: Path, tmp_path: Path, entry: str, words: str) -> None:
    """A references entry with an unknown deliverable number, a folder or a missing file is a finding at its file:line,
    even for a deliverable the safety class does not require."""
    plan_file = project_dir / "release-plan.yaml"
    plan_file.write_text(plan_file.read_text() + f"  {entry}\n")
    project = load_project(project_dir)
    ctx = GateContext(project, open_store(f"sqlite:///{tmp_path / 'qms.db'}"), load_plan(project))
    outcome = DeliverablesComplete().evaluate(ctx)
    line = len(plan_file.read_text().splitlines())
    assert [f.item for f in outcome.findings] == [f"references: {entry.split(':')[0]}".replace('"', "'")]
    assert words in outcome.findings[0].reason and f"{plan_file}:{line}" in outcome.findings[0].reason


@pytest.mark.parametrize("value", ["TODO", "TBD by the team", "FIXME", None])
def test_a_soup_review_still_a_placeholder_is_a_finding(ctx: GateContext, project_dir: Path, value: str | None) -> None:
    """A SOUP entry whose anomaly review is TODO, TBD, FIXME or the template's own text fails the SOUP check."""
    import re

    from qms.starter import SOUP_PLACEHOLDERS

    path = project_dir / "soup.yaml"
    text = value if value is not None else SOUP_PLACEHOLDERS["anomaly_review"]
    path.write_text(re.sub(r"(name: pydicom\n(?:    .*\n)*?    anomaly_review:).*", rf"\1 {text}", path.read_text(),
                           count=1))
    findings = [f for f in SoupCurrent().evaluate(ctx).findings if "placeholder" in f.reason]
    assert [f.item for f in findings] == ["SOUP:pydicom"] and "anomaly_review" in findings[0].reason


def test_a_design_item_left_as_the_template_wrote_it_is_a_finding(ctx: GateContext, project_dir: Path) -> None:
    """An item whose title and text are still `qms new`'s placeholders fails the design check at its file:line."""
    from qms.gate.checks.trace import DesignWellFormed
    from qms.traceability.items import ItemType
    from qms.traceability.template import item_template

    (project_dir / "design" / "need-099.yaml").write_text(item_template(ItemType.NEED, "NEED-099", (), "B"))
    findings = [f for f in DesignWellFormed().evaluate(ctx).findings if f.item == "NEED-099"]
    assert len(findings) == 1 and "title and text" in findings[0].reason and "placeholder" in findings[0].reason
    assert findings[0].reason.startswith("design/need-099.yaml:4: title and text")  # its title line


def test_the_soup_template_uncommented_is_valid_yaml_and_every_field_a_placeholder(tmp_path: Path) -> None:
    """The SOUP list `qms init` writes, its entry uncommented unchanged, parses and every review field is a placeholder."""
    from qms.soup import load_soup_file
    from qms.soup.runtime import RuntimeDependency
    from qms.starter import SOUP_PLACEHOLDERS, soup_placeholders, soup_template

    text = soup_template([RuntimeDependency("numpy", "imported by the device")], {"numpy": "2.0.0"})
    path = tmp_path / "soup.yaml"
    path.write_text(text.replace("soup: []", "soup:").replace("\n#  ", "\n  ").replace("\n#    ", "\n    "))
    (entry,) = load_soup_file(path)
    fields = {k: v for k, v in entry.to_json().items() if k not in ("name", "version")}
    assert soup_placeholders(fields) == list(SOUP_PLACEHOLDERS)
