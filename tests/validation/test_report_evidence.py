"""The validation report and `qms validate show` state the four further pieces of evidence a run records."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from qms.documents.build import document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.render import DocumentHeader, Renderer
from qms.documents.sample import sample_evidence
from qms.store import Store, open_store
from qms.validation.dataset import create_manifest
from tests.validation.runs import lock_and_run, project_cli
from tests.validation.synthetic import PROTOCOL, make_project
from tests.validation.test_latency import TTN, _timed_toy
from tests.validation.test_readers import REFERENCE, _add_reads

HEADER = DocumentHeader("Synthetic Triage", "Example Ltd", "1.0.0", 1,
                        {"author": ("a.author",), "reviewer": ("r.reviewer",), "approver": ("p.approver",)})
FULL = (PROTOCOL + REFERENCE + "sample_size: {endpoint: AUROC, expected: 0.9, power: 0.8}\n"
        + TTN.format(role="secondary", acceptance="p95 <= 5.0"))


@pytest.fixture
def full_result(sqlite_url: str, tmp_path: Path) -> tuple[Store, dict[str, object]]:
    store = open_store(sqlite_url)
    path = make_project(tmp_path, 60, protocol=FULL)
    _add_reads(tmp_path / "data/labels.csv", ("R1", "R2"), 0.05)
    for split in ("train", "test"):
        m = create_manifest(tmp_path / "data/deid", tmp_path / "data/labels.csv", split=split, name=f"toy-{split}")
        (tmp_path / "data/manifests" / f"{split}.json").write_text(m.dumps())
    return store, lock_and_run(store, path, tmp_path, predictor=_timed_toy(0.1))


def test_report_shows_near_duplicates_reference_standard_sample_size_and_latency(
        full_result: tuple[Store, dict[str, object]]) -> None:
    """The rendered validation report carries each of the four sections with the run's figures."""
    _, result = full_result
    ev = sample_evidence()
    ev = dataclasses.replace(ev, validation=[{**ev.validation[0], "result": result}, *ev.validation[1:]])
    html = Renderer(HEADER).html(DocumentKind.VALIDATION, document_data(DocumentKind.VALIDATION, ev), [])
    ss, ttn = result["sample_size"], result["time_to_notification"]
    kappa = result["reference_standard"]["agreement"]["pneumothorax"]["kappa"]
    assert "Near-duplicate images" in html and "0 pairs (0 exact) in 0 of 30 test images against 30 training images" in html
    assert "a third reader decides disagreements" in html and f"{kappa:.3f}" in html and "cohen_kappa" in html
    assert f"needs {ss['needed']['positives']} positives, {ss['needed']['negatives']} negatives" in html
    assert f"{ttn['distribution']['p95']:.3f} s" in html and "p95 &lt;= 5 s" in html


def test_report_of_a_run_without_the_sections_says_so() -> None:
    """A run recorded before these sections (no keys) renders, saying what is not stated."""
    html = Renderer(HEADER).html(DocumentKind.VALIDATION, document_data(DocumentKind.VALIDATION, sample_evidence()), [])
    assert "The protocol states no reference standard." in html and "no sample-size justification" in html


def test_validate_show_prints_the_sections_in_text_and_json(full_result: tuple[Store, dict[str, object]],
                                                             tmp_path: Path, sqlite_url: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms validate show RUN` names the near-duplicate count, kappa, sample size and latency; --json holds them."""
    _, result = full_result
    qms = project_cli(tmp_path, sqlite_url, monkeypatch)
    text = qms("validate", "show", str(result["run_id"]))
    assert text.exit_code == 0, text.output
    out = " ".join(text.output.split())
    assert "near-duplicate images: 0 pairs" in out and "cohen_kappa" in out and "time-to-notification: median" in out
    assert "sample size (AUROC, expected 0.9" in out
    data = json.loads(qms("validate", "show", str(result["run_id"]), "--json").stdout)
    assert data["independence"]["near_duplicates"]["count"] == 0 and data["sample_size"]["endpoint"] == "AUROC"
    assert data["time_to_notification"]["distribution"]["p95"] > 0 and data["reference_standard"]["statement"]
