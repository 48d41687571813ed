"""A run with intersections, a reference group, bounded and intersection criteria, calibration, interpretation and a
post-market plan: the result JSON, `qms validate show`, the bias report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from qms.documents.build import document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.render import Renderer
from qms.documents.sample import sample_evidence
from qms.store import open_store
from tests.validation.runs import lock_and_run, project_cli
from tests.validation.synthetic import PROTOCOL, make_project
from tests.validation.test_report_evidence import HEADER

BIAS = (PROTOCOL.replace("    - attribute: site\n", "    - attribute: site\n  intersections:\n    - [PatientSex, PatientAge]\n"
                          "  calibration: {bins: 5}\n")
        .replace("    - attribute: PatientSex\n", "    - attribute: PatientSex\n      reference: F\n")
        .replace("    max: 0.9\n", "    max: 0.9\n    on: upper\n"
                 "  - id: CELLS\n    kind: flag_rate_parity\n    attribute: [PatientSex, PatientAge]\n    max: 0.9\n")
        + "interpretation:\n  clinical_relevance: A missed pneumothorax delays treatment.\n"
          "  mitigation: Label the device for adults.\n"
          "post_market:\n  metrics: [sensitivity]\n  frequency: quarterly\n  trigger: sensitivity below 0.8\n"
          "  owner: Clinical safety officer\n")


@pytest.fixture
def bias_result(sqlite_url: str, tmp_path: Path) -> dict[str, Any]:
    path = make_project(tmp_path, 80, protocol=BIAS)
    return lock_and_run(open_store(sqlite_url), path, tmp_path)


def test_run_records_intersection_cells_disparities_and_criterion_intervals(bias_result: dict[str, Any]) -> None:
    """The result holds every intersection cell, each sufficient group's difference and ratio, and each criterion's interval and bound."""
    sg = bias_result["subgroups"]
    assert sg["intersections"] == [{"attribute": "PatientSex × PatientAge", "attributes": ["PatientSex", "PatientAge"]}]
    cells = [g for g in sg["groups"] if g["intersection"]]
    assert cells and sum(g["n"] for g in cells) == bias_result["cohort"]["cases"]
    assert all(g["flags"][0] == "insufficient, descriptive only" for g in cells if not g["sufficient"])
    some = next(g for g in sg["groups"] if g["sufficient"] and g["attribute"] == "PatientAge")
    d = some["disparity"]["sensitivity"]
    assert set(d) == {"difference", "ratio", "complement"} and d["difference"]["lower"] <= d["difference"]["upper"]
    gap, eod, _ = bias_result["bias"]
    assert gap["on"] == "estimate" and eod["on"] == "upper"
    assert gap["lower"] <= gap["value"] <= gap["upper"] and eod["verdict"] == ("pass" if eod["upper"] <= 0.9 else "fail")


def test_run_records_reference_goals_calibration_interpretation_and_plan(bias_result: dict[str, Any]) -> None:
    """The result records each attribute's reference, the goals and who misses them, calibration, the intersection
    criterion, the interpretation and the post-market plan with every under-represented group."""
    sg = bias_result["subgroups"]
    assert sg["attributes"][0]["reference"] == "F" and sg["attributes"][1]["reference"] is None
    assert sg["disparity"]["references"] == {"PatientSex": "F", "PatientAge": "complement", "site": "complement",
                                             "PatientSex × PatientAge": "complement"}
    sex = {g["group"]: g for g in sg["groups"] if g["attribute"] == "PatientSex"}
    assert sex["F"]["disparity"] == {} and "reference" in sex["M"]["disparity"]["sensitivity"]
    assert sg["goals"] == {"auroc": 0.6, "sensitivity": 0.5}
    for g in sg["groups"]:
        assert set(g["below_goal"]) == {m for m, goal in sg["goals"].items() if not g["metrics"][m]["lower"] >= goal}
        assert g["calibration"]["scored"] == g["n"] and g["calibration"]["ece"]["lower"] is not None
    assert sg["calibration"]["overall"]["scored"] == bias_result["cohort"]["cases"]
    cells = bias_result["bias"][2]
    assert cells["intersection"] == ["PatientSex", "PatientAge"] and cells["attribute"] == "PatientSex × PatientAge"
    it, pm = bias_result["interpretation"], bias_result["post_market"]
    assert it["clinical_relevance"] == "A missed pneumothorax delays treatment." and it["confounders"] == ["site"]
    flagged = {(g["attribute"], g["group"]) for g in sg["groups"] if g["below_goal"] or not g["sufficient"]}
    assert flagged and {(g["attribute"], g["group"]) for g in it["groups"]} >= flagged
    assert all(g["labeling_limitation"] and g["prevalence"]["overall"] == it["overall_prevalence"] for g in it["groups"])
    assert pm["stated"] and pm["owner"] == "Clinical safety officer"
    under = [(g["attribute"], g["group"]) for g in pm["groups"] if g["reason"] == "under-represented"]
    assert under == [(g["attribute"], g["group"]) for g in sg["groups"] if not g["sufficient"]]


def test_bias_report_and_validate_show_present_them(bias_result: dict[str, Any], tmp_path: Path, sqlite_url: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The bias report and `qms validate show` list the intersection cells, the disparities and each criterion's interval and bound."""
    ev = sample_evidence()
    bias = next(p for p in ev.validation if p["kind"] == "bias")
    ev = dataclasses.replace(ev, validation=[p if p is not bias else {**bias, "result": bias_result} for p in ev.validation])
    html = Renderer(HEADER).html(DocumentKind.BIAS, document_data(DocumentKind.BIAS, ev), [])
    cell = next(g for g in bias_result["subgroups"]["groups"] if g["intersection"])
    assert "Intersectional cells" in html and str(escape(cell["group"])) in html
    assert "Disparity against the reference group or the complement" in html and "upper bound" in html
    eod = bias_result["bias"][1]
    assert f"{eod['lower']:.4f} – {eod['upper']:.4f}" in html
    for section in ("Pre-specified subgroups", "Subgroup sizes", "reference group F", "the reference group",
                    "Performance-goal flags", "Calibration by subgroup", "Interpretation", "Proposed labeling limitations",
                    "Post-market monitoring plan", "A missed pneumothorax delays treatment.", "Clinical safety officer",
                    "intersection PatientSex × PatientAge"):
        assert section in html, section
    for g in bias_result["interpretation"]["groups"]:
        assert str(escape(g["labeling_limitation"])) in html
    for g in bias_result["post_market"]["groups"]:
        assert str(escape(f"{g['attribute']} = {g['group']}")) in html
    plain = Renderer(HEADER).html(DocumentKind.BIAS, document_data(DocumentKind.BIAS, sample_evidence()), [])
    assert "Bias criteria" in plain and "Intersectional cells" not in plain  # a result without the keys still renders

    qms = project_cli(tmp_path, sqlite_url, monkeypatch)
    text = qms("validate", "show", str(bias_result["run_id"]))
    assert text.exit_code == 0, text.output
    out = " ".join(text.output.split())
    assert "intersection PatientSex × PatientAge:" in out and "upper <= 0.9" in out and "PatientSex against F" in out and "site against complement" in out
    data = json.loads(qms("validate", "show", str(bias_result["run_id"]), "--json").stdout)
    assert data["bias"][1]["on"] == "upper" and data["subgroups"]["intersections"]
