"""The validation report's data, results and review sections, and the limitations and conclusion a run derives."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from qms.documents.build import document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.render import Renderer
from qms.documents.sample import sample_evidence
from qms.store import open_store
from qms.validation import limitations
from qms.validation.dataset import create_manifest
from qms.validation.manifest import DatasetManifest
from qms.validation.protocolparser import read_protocol
from tests.validation.runs import lock_and_run, project_cli
from tests.validation.synthetic import assert_refused_at, PROTOCOL, make_project, repeatable_predictor, toy_predictor, write_protocol
from tests.validation.test_cohort import DATA
from tests.validation.test_exclusions import add_exclusions
from tests.validation.test_report_evidence import HEADER
from tests.validation.test_robustness import REPEAT, ROBUST

STATED = "limitations:\n  - Not evaluated on paediatric patients.\n"
TEST_SITES = "".join(line + "\n" for line in DATA.splitlines() if "id: site-0" not in line and "id: site-2" not in line)
"""The data section with the test split's sites only (make_project puts odd patients, sites 1 and 3, in it)."""
REVIEWED = PROTOCOL + TEST_SITES + ROBUST + REPEAT + STATED


def _run(tmp_path: Path, sqlite_url: str, predictor: Any) -> tuple[dict[str, Any], DatasetManifest]:
    """A run of the full protocol on 60 patients, three test images excluded for stated reasons."""
    path = make_project(tmp_path, 60, protocol=REVIEWED)
    labels = tmp_path / "data/labels.csv"
    add_exclusions(labels, {1: "lateral view only", 3: "lateral view only", 5: "support devices obscure the lungs"})
    manifest = create_manifest(tmp_path / "data/deid", labels, split="test", name="toy-test")
    (tmp_path / "data/manifests/test.json").write_text(manifest.dumps())
    return lock_and_run(open_store(sqlite_url), path, tmp_path, predictor=predictor), manifest


@pytest.fixture
def passed(tmp_path: Path, sqlite_url: str) -> tuple[dict[str, Any], DatasetManifest]:
    return _run(tmp_path, sqlite_url, repeatable_predictor(separation=4.0))


def _html(result: dict[str, Any]) -> str:
    ev = sample_evidence()
    ev = dataclasses.replace(ev, validation=[{**ev.validation[0], "result": result}, *ev.validation[1:]])
    return Renderer(HEADER).html(DocumentKind.VALIDATION, document_data(DocumentKind.VALIDATION, ev), [])


def test_limitations_follow_from_the_data_and_the_protocol(passed: tuple[dict[str, Any], DatasetManifest]) -> None:
    """The equipment, views and ages the test set covers become labeling limitations, with the protocol's own."""
    result, manifest = passed
    assert result["verdict"] == "pass", result["reasons"]
    items = {(x["source"], x["finding"]): x["labeling"] for x in result["limitations"]}
    assert items[("data", "The test set holds manufacturers ACME, Globex, Initech only.")] == \
        "Not validated on equipment of other manufacturers."
    assert items[("data", "The test set holds views PA only.")] == "Not validated on other views or patient positions."
    ages = [float(e.attributes["PatientAge"]) for e in manifest.entries]  # type: ignore[arg-type]
    assert items[("data", f"The test set covers patients aged {min(ages):g}-{max(ages):g} years.")]
    assert items[("protocol", "Stated in the locked protocol.")] == "Not evaluated on paediatric patients."
    assert any(s == "data" and "enriched" in f for s, f in items)
    assert not any(s == "criterion" for s, _ in items)


def test_conclusion_states_the_verdict_cohort_and_deviations(passed: tuple[dict[str, Any], DatasetManifest],
                                                             tmp_path: Path, sqlite_url: str) -> None:
    """A passing run concludes it met every criterion without deviation; a failing one names how many it missed."""
    result, manifest = passed
    assert result["deviations"] == [] and result["conclusion"] == (
        f"VAL-T@1.0: toy@1.0.0 met every pre-specified acceptance criterion on {len(manifest.entries)} images of "
        f"{len(manifest.patient_ids)} patients from 2 sites, with no deviation from the protocol; the results "
        "support the intended use within the labeling limitations stated.")
    failed, _ = _run(tmp_path / "again", sqlite_url, toy_predictor())
    assert failed["verdict"] == "fail" and f"did not meet {len(failed['reasons'])} pre-specified" in failed["conclusion"]
    assert any(x["source"] == "criterion" and x["finding"].startswith("repeatability") for x in failed["limitations"])


def test_report_shows_the_cohort_flow_confusion_and_review(passed: tuple[dict[str, Any], DatasetManifest]) -> None:
    """The rendered report carries the data sources, flow diagram, cohort, confusion matrix, acquisition, failure
    analysis, robustness, repeatability, deviations, limitations and conclusion with the run's figures."""
    result, manifest = passed
    html = " ".join(_html(result).split())
    flow, cm = result["data"]["flow"], result["confusion"]["SENS"]
    assert "Leeds, UK" in html and "2019-01-01 to 2023-12-31" in html and "enriched: enriched to about 50 %" in html
    assert f"Assessed<br><b>{flow['assessed']}</b>" in html and "lateral view only: 2 (2 patients)" in html
    assert f"Analysed<br><b>{flow['analysed']}</b>" in html and "P00003/0.dcm" in html
    assert f"<td>SENS</td><td>pneumothorax</td><td>0.5</td><td>{cm['tp']}</td><td>{cm['fn']}</td>" in html
    test, train = result["data"]["partitions"]
    assert (test["role"], test["cases"], test["excluded"], train["role"], train["split"]) == (
        "test", len(manifest.entries), 3, "training", "train")
    assert f"<td>training (train)</td><td>toy-train <span class=\"mono\">{train['sha256'][:12]}</span></td>" in html
    assert "<td>ACME</td><td>unknown</td><td>DX</td>" in html  # equipment: synthetic files have no model name
    op = result["failure_analysis"]["operating_points"][0]
    for x in op["fn"]["cases"] + op["fp"]["cases"]:
        assert f"<td>{x['patient_id']}</td><td class=\"mono\">{x['file']}</td>" in html
    assert "<td>Manufacturer = ACME</td>" in html and "Repeatability" in html and "largest absolute score difference 0" in html
    assert "None: the run followed the locked protocol." in html
    assert "Not validated on equipment of other manufacturers." in html and result["conclusion"] in html


def test_report_of_an_older_run_says_what_is_not_recorded() -> None:
    """A run recorded before these sections renders, saying what the protocol or the run did not state."""
    html = _html({})
    assert "The protocol states no data sources." in html and "The protocol names no robustness strata." in html
    assert "The protocol specifies no repeatability run." in html and "Every pre-specified criterion was met." in html


def test_report_renders_to_pdf(passed: tuple[dict[str, Any], DatasetManifest]) -> None:
    """weasyprint lays out the new sections (flow diagram boxes included) into a PDF."""
    result, _ = passed
    ev = sample_evidence()
    ev = dataclasses.replace(ev, validation=[{**ev.validation[0], "result": result}, *ev.validation[1:]])
    rendered = Renderer(HEADER).render(DocumentKind.VALIDATION, document_data(DocumentKind.VALIDATION, ev))
    assert rendered.pdf.startswith(b"%PDF") and "Cohort flow" in rendered.html


def test_cli_shows_the_flow_repeatability_and_deviations(passed: tuple[dict[str, Any], DatasetManifest], tmp_path: Path,
                                                         sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms validate show RUN` states the cohort flow, repeatability, deviations and conclusion; `qms dataset show`
    counts the exclusions."""
    result, _ = passed
    qms = project_cli(tmp_path, sqlite_url, monkeypatch)
    shown = qms("validate", "show", str(result["run_id"]))
    assert shown.exit_code == 0, shown.output
    out = " ".join(shown.output.split())
    flow = result["data"]["flow"]
    assert f"cohort: {flow['assessed']} assessed, 3 excluded (lateral view only: 2; support devices obscure the lungs: 1)" in out
    assert "repeatability: 16 cases run again, largest difference 0 (limit 1e-09): pass" in out
    assert "deviations from protocol: none" in out and "conclusion: VAL-T@1.0: toy@1.0.0 met every" in out
    data = json.loads(qms("dataset", "show", str(tmp_path / "data/manifests/test.json"), "--json").stdout)
    assert data["excluded"] == 3


def test_an_empty_stated_limitation_names_the_line(tmp_path: Path) -> None:
    """A protocol limitation that is empty, or not text, is refused at its line."""
    for item, message in (('  - ""', "limitations\\[1\\] is empty"), ("  - {a: 1}", "must be str")):
        assert_refused_at(tmp_path, PROTOCOL + STATED + item + "\n", item, message)


def test_strata_below_the_minimum_or_short_of_a_goal_become_limitations(
        passed: tuple[dict[str, Any], DatasetManifest], tmp_path: Path) -> None:
    """A robustness stratum below the minimum, or whose interval misses an acceptance, gives a labeling limitation."""
    result = json.loads(json.dumps(passed[0]))
    small = next(s for s in result["robustness"]["strata"] if not s["sufficient"])
    short = next(s for s in result["robustness"]["strata"] if s["sufficient"])
    short["endpoints"]["SENS"].update(meets=False, lower=0.41, upper=0.77)
    found = {(x["finding"], x["labeling"]) for x in limitations.derive(read_protocol(write_protocol(tmp_path, REVIEWED)),
                                                                      result)}
    assert (f"Acquisition stratum {small['attribute']} = {small['value']} has {small['cases']} cases, below the "
            f"robustness minimum.", f"Performance on {small['attribute']} {small['value']} is not established.") in found
    assert (f"In {short['attribute']} = {short['value']} ({short['cases']} cases), SENS (sensitivity) [0.410, 0.770] does "
            "not meet lower >= 0.5.", f"Sensitivity on {short['attribute']} {short['value']} is not shown to meet the "
            "performance goal.") in found
