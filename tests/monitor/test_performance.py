"""Performance monitoring: production ground truth against the protocol's acceptance criteria, overall and per subgroup."""

from __future__ import annotations

import json
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


def _labels_file(store: Store, path: Path, *, broken_site: str | None) -> Path:
    """Truth that follows the score (AUROC near 0.9), except at `broken_site`, where it is a coin toss."""
    rng = np.random.default_rng(7)
    with store.reader() as session:
        rows = session.exec(select(InferenceRecord)).all()
    lines = ["request_id,label,truth,site"]
    for i, row in enumerate(sorted(rows, key=lambda r: r.request_id)):
        site = "a" if i % 2 else "b"
        score = json.loads(row.output)[0][LABELS[0]]
        truth = int(rng.random() < 0.5) if site == broken_site else int(score + rng.normal(0, 0.08) > 0.3)
        lines.append(f"{row.request_id},{LABELS[0]},{truth},{site}")
    path.write_text("\n".join(lines) + "\n")
    return path


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
