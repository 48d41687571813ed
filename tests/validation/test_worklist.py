"""Worklist prioritisation (CADt): the simulated reading room, its intervals, subgroups and criterion."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.documents.build import document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.render import Renderer
from qms.documents.sample import sample_evidence
from qms.store import Store, open_store
from qms.validation.manifest import DatasetManifest, ManifestEntry
from qms.errors import QmsError
from qms.validation.worklist import TimeSource, WorklistSpec, evaluate, simulate
from tests.validation.runs import lock_and_run
from tests.validation.synthetic import PROTOCOL, ToyPredictions, assert_refused_at, make_project
from tests.validation.test_report_evidence import HEADER

pytestmark = pytest.mark.verifies("QMS-REQ-210")

WORKLIST = """worklist:
  id: WL
  role: {role}
  label: pneumothorax
  threshold: 0.5
  readers: 1
  arrivals: {{distribution: poisson, per_hour: 13}}
  read_time: {{distribution: lognormal, median_minutes: 4, sigma: 0.3}}
  replicates: 60
  acceptance: "{acceptance}"
"""


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Store:
    return open_store(sqlite_url)


def test_a_flagged_case_jumps_the_queue_but_not_a_read_under_way() -> None:
    """Hand-worked: reads of 10 min; case 2 (flagged) arrives while case 0 is read and goes before case 1."""
    arrival, read = np.array([0.0, 1.0, 2.0]), np.array([10.0, 10.0, 10.0])
    flagged = np.array([False, False, True])
    assert simulate(arrival, read, flagged, 1, prioritise=False).tolist() == [10.0, 19.0, 28.0]
    assert simulate(arrival, read, flagged, 1, prioritise=True).tolist() == [10.0, 29.0, 18.0]
    # two readers: nobody waits
    assert simulate(arrival, read, flagged, 2, prioritise=True).tolist() == [10.0, 10.0, 18.0]


def test_an_idle_room_reads_every_case_on_arrival() -> None:
    """With gaps longer than any read, both policies give each case exactly its own read time."""
    arrival, read = np.array([0.0, 50.0, 100.0]), np.array([5.0, 7.0, 3.0])
    for prioritise in (False, True):
        assert simulate(arrival, read, np.array([True, False, True]), 1, prioritise).tolist() == [5.0, 7.0, 3.0]


cases = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.floats(0, 200, allow_nan=False), min_size=n, max_size=n),
    st.lists(st.floats(0.1, 30, allow_nan=False), min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=n, max_size=n)))


@given(cases)
@settings(max_examples=150, deadline=None)
def test_one_reader_priority_helps_every_flagged_case_and_delays_every_other(data: tuple[list[float], ...]) -> None:
    """One reader is work-conserving: the last read ends at the same time under both policies, no flagged case
    waits longer than first-in-first-out and no unflagged case waits less; all flagged or none: no change."""
    arrival, read, flag = (np.array(x) for x in data)
    flagged = flag.astype(bool)
    fifo = simulate(arrival, read, flagged, 1, prioritise=False)
    prio = simulate(arrival, read, flagged, 1, prioritise=True)
    assert np.all(fifo >= read - 1e-9) and np.all(prio >= read - 1e-9)
    assert np.max(arrival + fifo) == pytest.approx(np.max(arrival + prio))
    assert np.all(prio[flagged] <= fifo[flagged] + 1e-9) and np.all(prio[~flagged] >= fifo[~flagged] - 1e-9)
    for same in (np.ones_like(flagged), np.zeros_like(flagged)):
        assert np.array_equal(simulate(arrival, read, same, 1, True), simulate(arrival, read, same, 1, False))


@given(cases, st.integers(1, 4))
@settings(max_examples=100, deadline=None)
def test_every_case_is_read_once_and_readers_never_overlap(data: tuple[list[float], ...], readers: int) -> None:
    """At any moment at most `readers` reads are under way, and no read starts before its case arrived."""
    arrival, read, flag = (np.array(x) for x in data)
    done = simulate(arrival, read, flag.astype(bool), readers, prioritise=True)
    start, end = arrival + done - read, arrival + done
    assert np.all(start >= arrival - 1e-9)
    for t in start:
        assert int(np.sum((start <= t + 1e-9) & (end > t + 1e-9))) <= readers


def test_the_run_reports_time_saved_for_positives_with_intervals_and_subgroups(sqlite_store: Store,
                                                                               tmp_path: Path) -> None:
    """A device that flags positives well saves them time (interval above 0) and delays negatives; per subgroup too."""
    path = make_project(tmp_path, 120, protocol=PROTOCOL + WORKLIST.format(role="primary",
                                                                          acceptance="mean_saved >= 0.25 min"))
    result = lock_and_run(sqlite_store, path, tmp_path)
    wl = result["worklist"]
    saved, delay = wl["positive"]["mean_saved"], wl["negative"]["mean_delay"]
    assert wl["positives"] > 0 and wl["negatives"] > 0 and wl["flagged"] > 0
    assert 0 < saved["lower"] <= saved["estimate"] <= saved["upper"]
    assert delay["estimate"] > 0
    assert wl["positive"]["prioritised_mean"]["estimate"] < wl["positive"]["fifo_mean"]["estimate"]
    assert {g["attribute"] for g in wl["subgroups"]} == {"PatientSex", "PatientAge", "site"}
    assert wl["verdict"] == "pass" and not any("WL" in r for r in result["reasons"])
    for kind, report in (("performance", DocumentKind.VALIDATION), ("bias", DocumentKind.BIAS)):
        html = _rendered(report, kind, result)
        assert "Worklist prioritisation" in html and "Time saved" in html and "site = site-1" in html
        assert f"{saved['estimate']:.1f} ({saved['lower']:.1f} – {saved['upper']:.1f})" in html


def _rendered(report: DocumentKind, kind: str, result: dict[str, Any]) -> str:
    """The report `report` of the sample evidence with its `kind` protocol's result replaced by `result`."""
    ev = sample_evidence()
    ev = dataclasses.replace(ev, validation=[{**p, "result": result} if p["kind"] == kind else p for p in ev.validation])
    return Renderer(HEADER).html(report, document_data(report, ev), [])


def test_a_primary_criterion_the_lower_bound_misses_fails_the_run(sqlite_store: Store, tmp_path: Path) -> None:
    """Time saved is judged on its lower bound: an unreachable saving fails a primary endpoint with the reason."""
    path = make_project(tmp_path, 60, protocol=PROTOCOL + WORKLIST.format(role="primary",
                                                                         acceptance="mean_saved >= 600 min"))
    result = lock_and_run(sqlite_store, path, tmp_path)
    assert result["worklist"]["verdict"] == "fail" and result["verdict"] == "fail"
    assert any("WL" in r and "mean_saved" in r for r in result["reasons"])


def _entries(n: int, arrivals: list[float | None]) -> DatasetManifest:
    entries = tuple(ManifestEntry(file=f"c{i}.dcm", sha256=f"{i:064x}", patient_id=f"P{i}", study_uid=f"1.2.{i}",
                                  labels={"x": i % 2}, attributes={"arrival_min": arrivals[i]}) for i in range(n))
    return DatasetManifest(name="t", split="test", label_names=("x",), attribute_names=("arrival_min",),
                           entries=entries)


def test_observed_arrivals_must_be_numbers_named_by_case() -> None:
    """An observed arrival time that is missing is refused, naming the case file and the attribute."""
    spec = WorklistSpec("WL", "secondary", "x", 0.5, 1, TimeSource(attribute="arrival_min"),
                        TimeSource(distribution="fixed", params={"minutes": 5.0}), 20)
    manifest = _entries(4, [0.0, 1.0, None, 3.0])
    predictions = ToyPredictions(("x",), np.full((4, 1), 0.7), {}, {})
    with pytest.raises(QmsError, match="c2.dcm has no usable 'arrival_min'"):
        evaluate(spec, manifest, predictions, None, seed=1)
    ok, _ = evaluate(spec, _entries(4, [0.0, 1.0, 2.0, 3.0]), predictions, None, seed=1)
    assert ok is not None and ok["arrivals"] == "observed (arrival_min, minutes)"


@pytest.mark.parametrize(("edit", "replacement", "message"), [
    ("label: pneumothorax\n  threshold", "label: nodule\n  threshold", "not one of the protocol's labels"),
    ("distribution: poisson", "distribution: weibull", "unknown distribution"),
    ("per_hour: 13", "per_hour: 0", "out of range"),
    ('"{acceptance}"', '"mean_saved <= 3"', "is not understood"),
])
def test_bad_worklist_sections_name_the_line(tmp_path: Path, edit: str, replacement: str, message: str) -> None:
    """An unknown label or distribution, a non-positive rate or a criterion in the wrong direction: file:line."""
    text = PROTOCOL + WORKLIST.replace(edit, replacement).format(role="secondary", acceptance="mean_saved >= 1 min")
    assert_refused_at(tmp_path, text, replacement.split("\n")[0], message)
