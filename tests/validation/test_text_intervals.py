"""Every text metric of generated reports has a patient-clustered bootstrap interval, the corpus score per resample."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qms.hashing import sha256_file
from qms.validation import textmetrics
from qms.validation.criteria import Multiplicity
from qms.validation.intervals import CIMethod
from qms.validation.metrics import CISpec
from qms.validation.report_evaluation import evaluate
from qms.validation.report_generation import ReportGenerationSpec, UncertainAs
from qms.validation.textmetrics import ModuleSpec
from qms.validation.textpredictions import TextPredictions
from qms.validation.vocabulary import default_vocabulary
from tests.validation.test_textmetrics import USER_MODULE

pytestmark = pytest.mark.verifies("QMS-REQ-232")

MEAN_WORDS = USER_MODULE.replace('"words": float(sum(len(p.split()) for p in predictions))',
                                 '"words": sum(len(p.split()) for p in predictions) / len(predictions)')
"""A protocol's own module whose score is a corpus mean (words per generated report), so duplicating every case
leaves each resample's score unchanged."""

SENTENCES = ["No pleural effusion.", "Small left pleural effusion.", "Right pneumothorax, small.",
             "Heart size is normal and the lungs are clear.", "Mild cardiomegaly without edema.",
             "Left lower lobe atelectasis versus consolidation.", "No acute cardiopulmonary process."]


def _table(cases: int, copies: int, one_patient_per_copy: bool) -> TextPredictions:
    """`cases` synthetic report pairs, each repeated `copies` times: under its own patient, or one patient per copy."""
    rng = np.random.default_rng(3)
    pairs = [(str(rng.choice(SENTENCES)), str(rng.choice(SENTENCES))) for _ in range(cases)]
    rows = [(i, k) for i in range(cases) for k in range(copies)]
    return TextPredictions(
        case_ids=tuple(f"C{i}-{k}" for i, k in rows),
        patient_ids=tuple(f"P{i}-{k}" if one_patient_per_copy else f"P{i}" for i, k in rows),
        generated=tuple(pairs[i][0] for i, _ in rows), reference=tuple(pairs[i][1] for i, _ in rows),
        has_prior=np.zeros(len(rows), dtype=np.bool_), attributes={})


@pytest.fixture(scope="module")
def own_module(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleSpec, Any]:
    path = Path(tmp_path_factory.mktemp("module")) / "mean_words.py"
    path.write_text(MEAN_WORDS)
    digest = sha256_file(path)
    return ModuleSpec("mean_words", str(path), digest, "words"), textmetrics.load_module(path, digest)


def _metrics(table: TextPredictions, own: tuple[ModuleSpec, Any], seed: int = 5,
             method: CIMethod = CIMethod.BOOTSTRAP_PERCENTILE, module_resamples: int | None = None) -> dict[str, Any]:
    spec = ReportGenerationSpec(predictions="generated.csv", uncertain=UncertainAs.EXCLUDED, findings=("pleural_effusion",),
                                critical=(), endpoints=(), modules=(dataclasses.replace(own[0], resamples=module_resamples),),
                                ci=CISpec(method, 0.95, 150, seed))
    out, _ = evaluate(spec, table, default_vocabulary(), {own[0].id: own[1]}, Multiplicity.DESCRIPTIVE)
    return dict(out["text_metrics"])


def test_every_text_metric_has_an_interval_around_its_score(own_module: tuple[ModuleSpec, Any]) -> None:
    """ROUGE-L, BLEU and a protocol's own module each state a patient-clustered interval holding their score."""
    for method in (CIMethod.BOOTSTRAP_PERCENTILE, CIMethod.BOOTSTRAP_BCA):
        metrics = _metrics(_table(30, 1, True), own_module, method=method)
        assert set(metrics) == {"rouge_l", "bleu", "mean_words"}
        for name, m in metrics.items():
            assert m["lower"] <= m["estimate"] <= m["upper"] and m["lower"] < m["upper"], (name, m)
            assert m["method"] == method.value and m["resamples"] == 150 and "patients" in m["clusters"]
    assert "compute on each resample" in metrics["mean_words"]["module"]


def test_text_intervals_are_the_same_for_a_seed(own_module: tuple[ModuleSpec, Any]) -> None:
    """The same seed gives the same intervals to the last digit; another seed gives others."""
    table = _table(30, 1, True)
    first, again, other = (_metrics(table, own_module, seed) for seed in (5, 5, 6))
    assert first == again
    assert all((first[n]["lower"], first[n]["upper"]) != (other[n]["lower"], other[n]["upper"]) for n in first)


def test_duplicating_a_patients_reports_does_not_narrow_the_interval(own_module: tuple[ModuleSpec, Any]) -> None:
    """Each report twice under its own patient gives the same intervals; the copies as new patients narrow them."""
    once = _metrics(_table(30, 1, True), own_module)
    clustered = _metrics(_table(30, 2, False), own_module)
    independent = _metrics(_table(30, 2, True), own_module)
    for name in once:
        width = once[name]["upper"] - once[name]["lower"]
        assert clustered[name]["estimate"] == pytest.approx(once[name]["estimate"], rel=1e-9)
        assert clustered[name]["lower"] == pytest.approx(once[name]["lower"], rel=1e-9), name
        assert clustered[name]["upper"] == pytest.approx(once[name]["upper"], rel=1e-9), name
        assert independent[name]["upper"] - independent[name]["lower"] < 0.85 * width, name


def test_a_modules_own_resamples_bound_its_interval(own_module: tuple[ModuleSpec, Any]) -> None:
    """A module's stated resamples replace the interval's, and the result states them; the built-in metrics keep theirs."""
    metrics = _metrics(_table(30, 1, True), own_module, module_resamples=100)
    assert metrics["mean_words"]["resamples"] == 100 and "(100 resamples)" in metrics["mean_words"]["module"]
    assert metrics["bleu"]["resamples"] == metrics["rouge_l"]["resamples"] == 150
    default = _metrics(_table(30, 1, True), own_module)["mean_words"]
    assert metrics["mean_words"]["lower"] <= metrics["mean_words"]["estimate"] <= metrics["mean_words"]["upper"]
    assert (metrics["mean_words"]["lower"], metrics["mean_words"]["upper"]) != (default["lower"], default["upper"])
