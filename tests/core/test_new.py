"""`qms init` writes the starting files and `qms new KIND` a valid item with the next free id (real project, real CLI)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from qms.anomalies import load_register
from qms.cli.main import app
from qms.config import load_project
from qms.release_plan import load_plan
from qms.schemas import schema
from qms.soup import load_soup_file
from qms.starter import protocol_template
from qms.traceability import Check, load_project_design
from qms.validation.protocolparser import read_protocol

runner = CliRunner()
ENV = {"QMS_DATABASE_URL": ""}


def _qms(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=ENV)
    return result.exit_code, result.output


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "device"
    root.mkdir()
    (root / "requirements.txt").write_text("torch>=2\npydicom\n", encoding="utf-8")
    code, out = _qms("-C", str(root), "init", "--device", "D")
    assert code == 0, out
    return root


def test_init_writes_a_release_plan_a_soup_list_and_an_anomaly_register_that_load(root: Path) -> None:
    """After `qms init` the release plan, SOUP list and anomaly register load, and the SOUP list starts from the declared dependencies."""
    project = load_project(root)
    plan = load_plan(project)
    assert plan.version == "0.1.0" and plan.soup_file == "soup.yaml"
    assert load_soup_file(root / "soup.yaml") == [] and load_register(root / "design" / "anomalies.yaml") == []
    soup = (root / "soup.yaml").read_text(encoding="utf-8")
    assert "#  - name: pydicom" in soup and "#  - name: torch" in soup and "requirements.txt:1" in soup


def test_new_items_get_the_next_free_id_and_pass_the_item_checks(root: Path) -> None:
    """Each `qms new` item has the next id of its prefix and raises no finding but what its author owes: the
    link review, the placeholder text written over, and a hazard's risk estimate (left empty: no template numbers
    pass for one)."""
    for args in (["need"], ["need"], ["requirement", "--parent", "NEED-002"], ["hazard"],
                 ["risk-control", "--parent", "HAZ-001"], ["architecture", "--parent", "REQ-001"]):
        code, out = _qms("-C", str(root), "new", *args)
        assert code == 0, out
    code, out = _qms("-C", str(root), "new", "requirement", "--parent", "RC-001", "--json")
    assert code == 0 and json.loads(out) == {"path": "design/req-002.yaml", "id": "REQ-002"}
    design = load_project_design(load_project(root))
    assert set(design.items) == {"NEED-001", "NEED-002", "REQ-001", "REQ-002", "HAZ-001", "RC-001", "ARCH-001"}
    assert {f.check for f in design.findings} == {Check.SUSPECT_LINK, Check.PLACEHOLDER, Check.MISSING_FIELD}
    estimate = {f.reason for f in design.findings if f.check is Check.MISSING_FIELD and f.item == "HAZ-001"}
    assert estimate == {f"a hazard needs {name!r}" for name in ("severity", "probability", "residual_severity",
                                                                 "residual_probability")}  # the author's estimate


def test_new_skips_an_id_whose_file_name_holds_another_item(root: Path) -> None:
    """When the next id's file name is taken by an item with another id, `qms new` writes the next free id and file instead of refusing."""
    assert _qms("-C", str(root), "new", "need")[0] == 0
    design = root / "design"
    (design / "need-003.yaml").write_text(
        (design / "need-001.yaml").read_text(encoding="utf-8").replace("NEED-001", "NEED-002"), encoding="utf-8")
    code, out = _qms("-C", str(root), "new", "need", "--json")
    assert code == 0 and json.loads(out) == {"path": "design/need-004.yaml", "id": "NEED-004"}, out
    assert set(load_project_design(load_project(root)).items) == {"NEED-001", "NEED-002", "NEED-004"}


def test_new_refuses_a_missing_or_wrong_parent_naming_candidates(root: Path) -> None:
    """A requirement without a parent, with a parent of the wrong type or with none such, is a usage error that names
    what would do; an architecture item with nothing to hang on is sent to write a requirement first."""
    assert _qms("-C", str(root), "new", "need")[0] == 0
    code, out = _qms("-C", str(root), "new", "requirement")
    assert code == 2 and "a requirement needs a parent" in out and "--parent ID (e.g. NEED-001)" in out
    code, out = _qms("-C", str(root), "new", "risk-control", "--parent", "NEED-001")
    assert code == 2 and "NEED-001 (a need) cannot be the parent of a risk control" in out
    code, out = _qms("-C", str(root), "new", "requirement", "--parent", "NEED-009")
    assert code == 2 and "no design item NEED-009" in out and "NEED-001" in out  # absent, not of the wrong type
    code, out = _qms("-C", str(root), "new", "architecture")
    assert code == 2 and "`qms new requirement`" in out and "`qms new architecture`" not in out  # no circular hint
    assert not list((root / "design").glob("r*.yaml")) and not list((root / "design").glob("arch*.yaml"))


def test_written_files_point_editors_at_their_schema(root: Path) -> None:
    """`qms init` and `qms new` start each file with a yaml-language-server line naming its kind's JSON Schema, which exists."""
    assert _qms("-C", str(root), "new", "need")[0] == 0
    for path, kind in ((root / "release-plan.yaml", "release-plan"), (root / "soup.yaml", "soup"),
                       (root / "design" / "anomalies.yaml", "anomalies"), (root / "design" / "need-001.yaml", "design-item"),
                       (root / "protocols" / "VAL-PERF-001.yaml", "protocol")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=") and first.endswith(f"{kind}.schema.json")
        target = (path.parent / first.split("=", 1)[1]).resolve()
        assert json.loads(target.read_text(encoding="utf-8"))["$id"] == f"qmskit:{kind}"


def test_init_from_example_copies_the_example_without_its_outputs(tmp_path: Path) -> None:
    """`qms init --from-example` copies examples/cxr-triage without out/ or records, with a store of its own that audits the copy."""
    root = tmp_path / "copy"
    code, out = _qms("-C", str(root), "init", "--from-example")
    assert code == 0, out
    assert (root / "qms.toml").is_file() and (root / "release-plan.yaml").is_file() and (root / "design").is_dir()
    assert not (root / "out").exists() and (root / ".qms" / "qms.db").is_file()
    code, out = _qms("-C", str(root), "audit", "log", "--json")
    assert code == 0 and [json.loads(e["details"])["from"] for e in json.loads(out)] == ["example"]
    code, out = _qms("-C", str(root), "init", "--from-example")
    assert code == 2 and "not empty" in out


def _checked_protocol(path: Path) -> str:
    """The protocol's id, after the loader read it and `qms schema protocol` validated it."""
    out = CliRunner().invoke(app, ["schema", "protocol"]).output
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), json.loads(out))
    return read_protocol(path).id


def test_init_and_new_protocol_write_protocols_the_loader_and_the_schema_accept(root: Path) -> None:
    """`qms init` writes VAL-PERF-001 and `qms new protocol` the next id, naming the plan's model; both load and validate."""
    assert _checked_protocol(root / "protocols" / "VAL-PERF-001.yaml") == "VAL-PERF-001"
    plan = root / "release-plan.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("my-model@0.1.0", "lung-flagger@2.0.0"), encoding="utf-8")
    code, out = _qms("-C", str(root), "new", "protocol")
    assert code == 0 and "protocols/VAL-PERF-002.yaml" in out, out
    written = root / "protocols" / "VAL-PERF-002.yaml"
    assert _checked_protocol(written) == "VAL-PERF-002" and read_protocol(written).model_ref == "lung-flagger@2.0.0"


def test_the_protocol_templates_commented_endpoint_is_valid_once_uncommented(tmp_path: Path) -> None:
    """The template's commented secondary endpoint, uncommented, still loads: its comments show working YAML."""
    text = protocol_template("VAL-PERF-001", "my-model@0.1.0")
    opened = re.sub(r"^#(  [ -] ?\w+:.*)$", r"\1", text, flags=re.MULTILINE)
    assert opened.count("- id:") == 2
    path = tmp_path / "VAL-PERF-001.yaml"
    path.write_text(opened, encoding="utf-8")
    assert _checked_protocol(path) == "VAL-PERF-001" and len(read_protocol(path).endpoints) == 2


def test_the_anomaly_register_template_names_every_status(root: Path) -> None:
    """The commented entry `qms init` writes lists every status the register accepts (deferred was missing)."""
    from qms.anomalies import AnomalyStatus

    line = next(t for t in (root / "design" / "anomalies.yaml").read_text(encoding="utf-8").splitlines()
                if t.lstrip("# ").startswith("status:"))
    assert all(status.value in line.split("#", 2)[2] for status in AnomalyStatus)
