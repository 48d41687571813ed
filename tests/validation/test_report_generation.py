"""Generated-report endpoints: finding agreement, safety rates and text metrics in a protocol, a run and its report."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from qms.documents.build import document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.render import Renderer
from qms.documents.sample import sample_evidence
from qms.errors import CheckFailed, QmsError
from qms.hashing import sha256_file
from qms.store import open_store
from qms.validation.criteria import Multiplicity
from qms.validation.protocolparser import read_protocol
from qms.validation.report_evaluation import evaluate_files
from qms.validation.textpredictions import read_text_predictions
from tests.validation.generated_reports import EXPECTED, SECTION, write_table
from tests.validation.runs import lock_and_run, project_cli
from tests.validation.synthetic import PROTOCOL, assert_refused_at, make_project
from tests.validation.test_report_evidence import HEADER

AGREEMENT = pytest.mark.verifies("QMS-REQ-231")
SAFETY = pytest.mark.verifies("QMS-REQ-233")
METRICS = pytest.mark.verifies("QMS-REQ-232")

TOP_ONLY = PROTOCOL[:PROTOCOL.index("endpoints:")]
"""The synthetic protocol without its classifier endpoints, subgroups and bias: a report generator's protocol."""
MULTIPLICITY = "multiplicity: {method: descriptive, statement: descriptive subgroup intervals}\n"


def _protocol(uncertain: str = "excluded", acceptance: str = "lower >= 0.3", gap: float = 0.9) -> str:
    return TOP_ONLY + MULTIPLICITY + SECTION.format(uncertain=uncertain, acceptance=acceptance, gap=gap)


def _evaluate(tmp_path: Path, text: str) -> tuple[dict[str, object], list[str]]:
    write_table(tmp_path / "data" / "generated.csv")
    path = tmp_path / "p.yaml"
    path.write_text(text)
    protocol = read_protocol(path)
    assert protocol.report_generation is not None
    return evaluate_files(protocol.report_generation, tmp_path, Multiplicity.DESCRIPTIVE)


@AGREEMENT
@pytest.mark.parametrize("uncertain", ["excluded", "positive", "negative"])
def test_finding_agreement_counts_uncertain_findings_as_the_protocol_states(tmp_path: Path, uncertain: str) -> None:
    """Per finding, the confusion counts follow the stated handling of uncertain findings, which the result states."""
    out, reasons = _evaluate(tmp_path, _protocol(uncertain))
    effusion = next(f for f in out["findings"] if f["finding"] == "pleural_effusion")  # type: ignore[attr-defined]
    assert {k: effusion[k] for k in ("tp", "fn", "fp", "tn", "excluded")} == EXPECTED[uncertain]
    tp, fn = EXPECTED[uncertain]["tp"], EXPECTED[uncertain]["fn"]
    sens = effusion["sensitivity"]
    assert sens["estimate"] == tp / (tp + fn) and sens["lower"] <= sens["estimate"] <= sens["upper"]
    stated = {"excluded": "left out", "positive": "counts as positive", "negative": "counts as negative"}[uncertain]
    assert out["uncertain"] == uncertain and stated in out["uncertain_statement"]  # type: ignore[operator]
    assert reasons == []


@AGREEMENT
def test_a_failing_primary_endpoint_fails_with_its_reason(tmp_path: Path) -> None:
    """A primary generated-report endpoint whose interval misses its criterion is a reason the run fails."""
    out, reasons = _evaluate(tmp_path, _protocol(acceptance="lower >= 0.95"))
    verdicts = {e["id"]: e["verdict"] for e in out["endpoints"]}  # type: ignore[attr-defined]
    assert verdicts["RG-SENS"] == "fail" and verdicts["RG-PHI"] == "pass" and verdicts["RG-ROUGE"] is None
    assert len(reasons) == 1 and reasons[0].startswith("report generation endpoint RG-SENS: sensitivity of pleural_effusion")


@AGREEMENT
def test_subgroups_of_a_finding_have_their_own_intervals(tmp_path: Path) -> None:
    """The subgroup table gives each group its n, agreement intervals and disparity to its complement with intervals."""
    out, _ = _evaluate(tmp_path, _protocol())
    effusion = out["subgroups"]["findings"]["pleural_effusion"]  # type: ignore[index]
    rows = effusion["groups"]
    assert sorted(r["group"] for r in rows) == ["F", "M"] and sum(r["n"] for r in rows) == 38
    assert all(set(r["metrics"]) == {"sensitivity", "specificity", "f1"} for r in rows)
    for r in rows:
        gap = r["disparity"]["sensitivity"]["difference"]
        assert gap["lower"] <= gap["estimate"] <= gap["upper"]
        assert gap["estimate"] == pytest.approx(r["metrics"]["sensitivity"]["estimate"]
                                                - r["disparity"]["sensitivity"]["complement"]["estimate"])
    assert effusion["goals"] == {"sensitivity": 0.3}


@AGREEMENT
@pytest.mark.parametrize(("gap", "on", "passes"), [(0.9, "estimate", True), (0.0, "estimate", False),
                                                   (0.3, "upper", False)])
def test_a_bias_criterion_on_a_findings_subgroups_passes_or_fails_the_run(tmp_path: Path, gap: float, on: str,
                                                                          passes: bool) -> None:
    """A bias criterion on a finding's subgroups is judged with its interval, and one that fails is a reason the run fails."""
    text = _protocol(gap=gap).replace(f"max: {gap}}}", f"max: {gap}, on: {on}}}")
    out, reasons = _evaluate(tmp_path, text)
    (bias,) = out["subgroups"]["findings"]["pleural_effusion"]["bias"]  # type: ignore[index]
    assert bias["id"] == "RG-GAP" and bias["finding"] == "pleural_effusion" and bias["metric"] == "sensitivity"
    assert bias["lower"] <= bias["value"] <= bias["upper"] and bias["verdict"] == ("pass" if passes else "fail")
    failed = [r for r in reasons if "RG-GAP" in r]
    assert failed == ([] if passes else [failed[0]])
    assert passes or failed[0].startswith("report generation, pleural_effusion: bias criterion RG-GAP: largest gap")


@AGREEMENT
def test_a_bias_criterion_without_two_sufficient_groups_fails_closed(tmp_path: Path) -> None:
    """When no two groups reach the minimum size the criterion cannot be evaluated, and the run fails on it."""
    out, reasons = _evaluate(tmp_path, _protocol().replace("min_size: 10", "min_size: 30"))
    (bias,) = out["subgroups"]["findings"]["pleural_effusion"]["bias"]  # type: ignore[index]
    assert bias["verdict"] == "fail" and "fewer than two groups" in bias["detail"]
    assert any("RG-GAP" in r and "fewer than two groups" in r for r in reasons)
    flags = [g["flags"] for g in out["subgroups"]["findings"]["pleural_effusion"]["groups"]]  # type: ignore[index]
    assert all("insufficient, descriptive only" in f for f in flags)


@SAFETY
def test_safety_rates_with_eligible_cases_and_case_ids_only(tmp_path: Path) -> None:
    """Each safety check is flagged over eligible cases with an interval; examples are case ids, never text."""
    out, _ = _evaluate(tmp_path, _protocol())
    safety = {s["check"]: s for s in out["safety"]}  # type: ignore[attr-defined]
    assert {c: (s["flagged"], s["eligible"]) for c, s in safety.items()} == EXPECTED["safety"]
    assert safety["phi"]["examples"] == ["C005"] and safety["nonexistent_prior"]["examples"] == ["C001", "C003"]
    assert safety["laterality_contradiction"]["examples"] == ["C038"]
    assert safety["critical_omission"]["examples"] == ["C039"]
    assert safety["phi"]["lower"] <= safety["phi"]["estimate"] == 1 / 40 <= safety["phi"]["upper"]
    dumped = json.dumps(out)
    assert "Smith" not in dumped and "555-123" not in dumped


@METRICS
def test_text_metrics_and_their_endpoints(tmp_path: Path) -> None:
    """ROUGE-L (mean per case) and BLEU (corpus score) are stated with patient-clustered intervals and verdicts."""
    out, _ = _evaluate(tmp_path, _protocol())
    endpoints = {e["id"]: e for e in out["endpoints"]}  # type: ignore[attr-defined]
    rouge, bleu = endpoints["RG-ROUGE"], endpoints["RG-BLEU"]
    assert rouge["lower"] < rouge["estimate"] < rouge["upper"] and rouge["estimate"] == out["text_metrics"]["rouge_l"]["estimate"]  # type: ignore[index]
    assert bleu["lower"] < bleu["estimate"] < bleu["upper"] <= 100 and bleu["verdict"] == "pass"
    assert bleu["estimate"] == out["text_metrics"]["bleu"]["estimate"]  # type: ignore[index]


@pytest.mark.parametrize(("change", "needle", "message"), [
    (("finding: pleural_effusion, role: primary", "finding: pleural_fluid, role: primary"), "id: RG-SENS",
     "finding 'pleural_fluid' is not in the vocabulary"),
    (("{id: RG-CRIT, metric: critical_omission, role: secondary}",
      "{id: RG-CRIT, metric: module, module: bleu, role: secondary, acceptance: 'lower >= 1'}\n"
      "  text_metrics: [{id: bleu, module: m.py, sha256: '" + "0" * 64 + "', key: s}]"),
     "id: bleu, module", "text metric id 'bleu' names one of qmskit's own metrics"),
    (("{id: RG-CRIT, metric: critical_omission, role: secondary}",
      "{id: RG-CRIT, metric: module, module: m, role: secondary}\n"
      "  text_metrics: [{id: m, module: m.py, sha256: '" + "0" * 64 + "', key: s, resamples: 10}]"),
     "id: m, module", "resamples = 10 is too few"),
    (("uncertain: excluded", "uncertain: maybe"), "uncertain:", "unknown value 'maybe'"),
    (("metric: sensitivity, attribute: sex", "metric: auroc, attribute: sex"), "id: RG-GAP", "unknown value 'auroc'"),
    (("attribute: sex, max", "attribute: site, max"), "id: RG-GAP", "attribute 'site' is not a subgroup attribute"),
    (("id: RG-GAP,", "id: RG-GAP, finding: pneumothorax,"), "id: RG-GAP", "'pneumothorax' is not a subgroup finding"),
    (("id: RG-GAP,", "id: RG-SPEC,"), "id: RG-SPEC, kind", "criterion id 'RG-SPEC' is already an endpoint"),
    (("{id: RG-ROUGE, metric: rouge_l, role: secondary}", "{id: RG-ROUGE, metric: module, module: x, role: secondary}"),
     "id: RG-ROUGE", "module 'x' is not a text_metrics id"),
])
@AGREEMENT
def test_a_bad_section_is_refused_at_its_line(tmp_path: Path, change: tuple[str, str], needle: str, message: str) -> None:
    """A wrong finding, module id, handling or module, or a bad bias criterion on generated reports, is refused at its line."""
    assert_refused_at(tmp_path, _protocol().replace(*change), needle, message)


@AGREEMENT
def test_text_predictions_refuse_bad_rows_naming_row_and_column(tmp_path: Path) -> None:
    """A missing column, a repeated case id or a has_prior that is not yes/no names the file, row and column."""
    path = write_table(tmp_path / "g.csv")
    assert len(read_text_predictions(path)) == 40
    text = path.read_text()
    for bad, message, where in [(text.replace("has_prior", "prior"), "lack the column", str(path)),
                                (text.replace("C001", "C000"), "appears twice", f"{path}: row 3"),
                                (text.replace(",true,", ",maybe,", 1), "not a yes or no", f"{path}: row 2, column has_prior")]:
        path.write_text(bad)
        with pytest.raises(QmsError, match=message) as info:
            read_text_predictions(path)
        assert info.value.where == where


@AGREEMENT
def test_parquet_text_predictions_read_as_the_csv_does(tmp_path: Path) -> None:
    """The same table as Parquet (has_prior a boolean column, age a number) reads into the same cases."""
    csv_path = write_table(tmp_path / "g.csv")
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    frame["has_prior"] = frame["has_prior"] == "true"
    frame["age"] = range(len(frame))
    frame.to_parquet(tmp_path / "g.parquet", index=False)
    from_csv, from_parquet = read_text_predictions(csv_path), read_text_predictions(tmp_path / "g.parquet")
    assert from_parquet.case_ids == from_csv.case_ids and from_parquet.generated == from_csv.generated
    assert (from_parquet.has_prior == from_csv.has_prior).all() and from_parquet.attributes["age"][3] == 3.0
    assert from_parquet.attributes["sex"] == from_csv.attributes["sex"]


@METRICS
def test_a_vocabulary_or_module_changed_after_locking_is_refused(tmp_path: Path) -> None:
    """The protocol's own vocabulary and metric module run only at the sha256 the protocol names."""
    vocab = tmp_path / "vocab.yaml"
    vocab.write_text((Path(__file__).parents[2] / "validation" / "data" / "findings.yaml").read_text())
    module = tmp_path / "m.py"
    module.write_text("raise SystemExit('this module must never run')\n")
    extra = (f"  vocabulary: {{path: vocab.yaml, sha256: {sha256_file(vocab)}}}\n"
             f"  text_metrics: [{{id: mine, module: m.py, sha256: '{'0' * 64}', key: score}}]\n")
    with pytest.raises(CheckFailed, match="m.py has sha256"):
        _evaluate(tmp_path, _protocol() + extra)
    vocab.write_text(vocab.read_text() + "\n")
    with pytest.raises(CheckFailed, match="vocab.yaml has sha256"):
        _evaluate(tmp_path, _protocol() + extra)


@AGREEMENT
@SAFETY
def test_a_locked_run_judges_generated_reports_and_the_report_shows_them(sqlite_url: str, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A locked protocol with only generated-report endpoints runs, fails on them when they fail, and is reported in the
    validation report and (its subgroups and bias criteria) in the bias report."""
    store = open_store(sqlite_url)
    path = make_project(tmp_path, 20, protocol=_protocol())
    write_table(tmp_path / "data" / "generated.csv")
    result = lock_and_run(store, path, tmp_path)
    assert result["verdict"] == "pass" and result["endpoints"] == []
    rg = result["report_generation"]
    assert rg["predictions"]["sha256"] == sha256_file(tmp_path / "data" / "generated.csv")
    ev = sample_evidence()
    ev = dataclasses.replace(ev, validation=[{**ev.validation[0], "result": result}, *ev.validation[1:]])
    html = Renderer(HEADER).html(DocumentKind.VALIDATION, document_data(DocumentKind.VALIDATION, ev), [])
    assert "Generated reports" in html and "laterality_contradiction" in html and "C038" in html
    assert "a case is left out of a finding" in html and "Smith" not in html
    assert "Subgroups: pleural_effusion" in html and "patient-clustered resamples" in html
    bias = next(i for i, p in enumerate(ev.validation) if p["kind"] == "bias")
    ev = dataclasses.replace(ev, validation=[*ev.validation[:bias], {**ev.validation[bias], "result": result},
                                             *ev.validation[bias + 1:]])
    html = Renderer(HEADER).html(DocumentKind.BIAS, document_data(DocumentKind.BIAS, ev), [])
    assert "Generated reports: subgroups and bias" in html and "RG-GAP" in html and "Difference to complement" in html
    shown = project_cli(tmp_path, sqlite_url, monkeypatch)("validate", "show", result["run_id"])
    assert shown.exit_code == 0 and "RG-SENS" in shown.output and "safety phi: 1/40" in shown.output
    assert "C005" in shown.output and "Smith" not in shown.output
    failing = tmp_path / "protocols" / "q.yaml"
    failing.write_text(_protocol(acceptance="lower >= 0.95").replace("version: \"1.0\"", "version: \"1.1\""))
    result = lock_and_run(store, failing, tmp_path)
    assert result["verdict"] == "fail" and any(r.startswith("report generation endpoint RG-SENS") for r in result["reasons"])
