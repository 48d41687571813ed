"""Performance monitoring: production ground truth against the protocol's acceptance criteria, overall and per subgroup."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlmodel import select

from qms.api.records import InferenceRecord
from qms.monitor.performance import PERFORMANCE, evaluate, read_labels
from qms.store import Store
from qms.validation.criteria import Acceptance, Endpoint, Role
from qms.validation.intervals import CIMethod
from qms.validation.metrics import CISpec, Metric
from tests.monitor.traffic import LABELS, MODEL, send

ENDPOINT = Endpoint("EP-1", Metric.AUROC, (LABELS[0],), Role.PRIMARY, CISpec(CIMethod.DELONG),
                    Acceptance("lower", ">=", 0.75))


def _truth_file(store: Store, path: Path, labels: tuple[str, ...], truth: Callable[[int, str, float], int],
                with_site: bool = True) -> Path:
    """One row per record and label, truth `truth(row index, label, score)`; sites a and b alternate."""
    with store.reader() as session:
        rows = session.exec(select(InferenceRecord)).all()
    lines = ["request_id,label,truth" + (",site" if with_site else "")]
    for i, row in enumerate(sorted(rows, key=lambda r: r.request_id)):
        out = json.loads(row.output)[0]
        lines += [f"{row.request_id},{label},{truth(i, label, out[label])}" + (f",{'ab'[i % 2 == 0]}" if with_site else "")
                  for label in labels]
    path.write_text("\n".join(lines) + "\n")
    return path


def _labels_file(store: Store, path: Path, *, broken_site: str | None) -> Path:
    """Truth that follows the score (AUROC near 0.9), except at `broken_site`, where it is a coin toss."""
    rng = np.random.default_rng(7)
    return _truth_file(store, path, LABELS[:1], lambda i, _, score: int(rng.random() < 0.5)
                       if "ab"[i % 2 == 0] == broken_site else int(score + rng.normal(0, 0.08) > 0.3))


def test_criteria_met_on_good_production_cases(store: Store, tmp_path: Path) -> None:
    """When truth follows the scores, the AUROC criterion is met overall and in each site: no finding."""
    send(store, 400, seed=60)
    rows, findings = evaluate(store, MODEL, read_labels(_labels_file(store, tmp_path / "l.csv", broken_site=None)),
                              [ENDPOINT])
    assert [r["group"] for r in rows] == ["overall", "site=a", "site=b"]
    assert all(r["met"] is True for r in rows) and findings == []


def test_a_failing_subgroup_is_a_finding(store: Store, tmp_path: Path) -> None:
    """When one site's truth no longer follows the scores, that site's criterion fails with its interval named."""
    send(store, 400, seed=61)
    rows, findings = evaluate(store, MODEL, read_labels(_labels_file(store, tmp_path / "l.csv", broken_site="b")),
                              [ENDPOINT])
    assert {f.item for f in findings} >= {"EP-1:site=b"} and "EP-1:site=a" not in {f.item for f in findings}
    assert all(f.check == PERFORMANCE and "lower >= 0.75" in f.reason for f in findings)
    assert next(r for r in rows if r["group"] == "site=b")["interval"]["upper"] < 0.75


MEAN = Endpoint("EP-MEAN", Metric.MEAN_AUROC, LABELS, Role.SECONDARY, CISpec(CIMethod.BOOTSTRAP_PERCENTILE, resamples=200),
                Acceptance("lower", ">=", 0.70))


def _two_label_truth(store: Store, path: Path, *, blind_label: str | None) -> Path:
    """Truth for both labels following their scores, except `blind_label`, whose truth is a coin toss."""
    rng = np.random.default_rng(8)
    return _truth_file(store, path, LABELS, lambda _, label, score: int(rng.random() < 0.5) if label == blind_label
                       else int(score + rng.normal(0, 0.08) > 0.4), with_site=False)


def test_a_mean_auroc_endpoint_is_judged_as_the_protocol_states_it(store: Store, tmp_path: Path) -> None:
    """A multi-label mean-AUROC endpoint is judged on its aggregate with its interval, and each label's AUROC is
    reported beside it (descriptive): one label losing its signal fails the aggregate and shows in that label's row."""
    send(store, 300, seed=62)
    good, _ = evaluate(store, MODEL, read_labels(_two_label_truth(store, tmp_path / "a.csv", blind_label=None)), [MEAN])
    assert [(r["metric"], r["label"], r["judged"]) for r in good] == [
        ("mean_auroc", ", ".join(LABELS), True), ("auroc", LABELS[0], False), ("auroc", LABELS[1], False)]
    assert good[0]["met"] is True and good[0]["n"] == 300
    assert good[0]["interval"]["estimate"] == np.mean([r["interval"]["estimate"] for r in good[1:]])
    rows, findings = evaluate(store, MODEL, read_labels(_two_label_truth(store, tmp_path / "b.csv",
                                                                         blind_label=LABELS[1])), [MEAN])
    assert [f.item for f in findings] == ["EP-MEAN:overall"] and rows[0]["met"] is False
    assert rows[2]["interval"]["estimate"] < 0.65 < rows[1]["interval"]["estimate"]
