"""The bias report's post-market plan drives `qms monitor`: its frequency cuts the windows, its triggers are checked
with the stated statistic and threshold, and a breach opens an anomaly naming the plan's owner."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from qms.anomalies import load_register
from qms.api.records import InferenceRecord
from qms.errors import QmsError
from qms.monitor.performance import read_labels
from qms.monitor.plan import MonitoringPlan, find_plan
from qms.monitor.reference import from_run
from qms.monitor.service import open_anomalies, run_monitoring
from qms.monitor.triggers import PLAN_TRIGGER
from qms.monitor.windows import FlagRule, records, windows
from qms.store import Store, open_store
from qms.validation.criteria import AttributeSpec, Subgroups
from qms.validation.intervals import CIMethod
from qms.validation.metrics import CISpec, Metric
from qms.validation.post_market import Bound, Gap, Scope, parse_frequency, parse_trigger
from tests.monitor.plans import BIAS_PROTOCOL, OWNER
from tests.monitor.traffic import LABELS, send
from tests.validation.runs import lock_and_run
from tests.validation.synthetic import make_project

SUBGROUPS = Subgroups(LABELS[0], 0.5, (Metric.SENSITIVITY, Metric.FLAG_RATE), CISpec(CIMethod.WILSON),
                      (AttributeSpec("site"), AttributeSpec("Manufacturer")), 10, 0)


def test_the_example_plan_reads_as_it_is_written() -> None:
    """The example bias protocol's frequency and trigger sentences become windows and two executable clauses."""
    frequency = parse_frequency("quarterly, and after every 500 flagged studies", "p.yaml")
    assert (frequency.period, frequency.flagged) == (timedelta(days=91), 500)
    triggers = parse_trigger("sensitivity of any monitored group below 0.80 on its lower 95 % bound, or a flag-rate "
                             "gap between sites above 0.20", SUBGROUPS, "p.yaml")
    assert triggers[0] == Bound(Metric.SENSITIVITY, Scope.MONITORED, "lower", True, 0.80, triggers[0].text)
    assert triggers[1] == Gap(Metric.FLAG_RATE, "site", 0.20, triggers[1].text)


@pytest.mark.parametrize(("text", "parser"), [("every other full moon", "frequency"),
                                               ("sensitivity looks worse than before", "trigger"),
                                               ("auroc below 0.7", "trigger")])
def test_a_plan_it_cannot_execute_is_refused_by_name(text: str, parser: str) -> None:
    """A frequency or trigger outside the grammar, or naming a metric the protocol does not measure per group, is a
    QmsError naming the protocol's plan, never a guess."""
    with pytest.raises(QmsError) as exc:
        parse_frequency(text, "p.yaml post_market") if parser == "frequency" else parse_trigger(
            text, SUBGROUPS, "p.yaml post_market")
    assert exc.value.where == "p.yaml post_market" and text.split()[0] in exc.value.message


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_any_sentence_is_read_or_refused(text: str) -> None:
    """Whatever the sentence, the plan reader returns clauses or refuses it with a QmsError; nothing else escapes."""
    for parse in (lambda: parse_frequency(text, "p"), lambda: parse_trigger(text, SUBGROUPS, "p")):
        try:
            parse()
        except QmsError:
            pass


def test_a_window_closes_after_the_stated_number_of_flagged_studies(store: Store) -> None:
    """With 'after every N flagged studies', a window closes at the N-th flagged request, before its period ends."""
    send(store, 300, seed=90, shift=0.6)
    rows = records(store, "tiny@1.0.0")
    flagged = sum(json.loads(r.output)[0][LABELS[0]] >= 0.5 for r in rows)
    cut = windows(rows, timedelta(days=7), FlagRule(40, LABELS[0], 0.5))
    assert len(cut) == -(-flagged // 40) and sum(w.requests for w in cut) == 300


def _planned(tmp_path: Path) -> tuple[Store, Path, str, str]:
    root = tmp_path / "project"
    store = open_store(f"sqlite:///{tmp_path / 'qms.db'}")
    result = lock_and_run(store, make_project(root, 120, protocol=BIAS_PROTOCOL), root)
    return store, root, str(result["run_id"]), str(result["model"]["ref"])


def _plan_findings(store: Store, root: Path, run_id: str, model: str, labels: Path | None = None) -> list[str]:
    reference = from_run(store, run_id, root)
    plan = find_plan(store, model, root)
    assert isinstance(plan, MonitoringPlan) and plan.owner == OWNER
    report = run_monitoring(store, reference, plan, truths=read_labels(labels) if labels else [])
    assert report.window == timedelta(days=7) and report.notes == []
    judged = {r["trigger"].split()[1] for w in report.windows for r in w.triggers if r["judged"] and r["trigger"]}
    assert judged == ({"of", "flag-rate"} if labels else {"flag-rate"})  # the clauses were judged, not skipped as too small
    return sorted(str(f.item).split("@")[0] for f in report.findings if f.check == PLAN_TRIGGER)


def test_a_planted_flag_rate_gap_triggers_and_an_even_one_does_not(tmp_path: Path) -> None:
    """One manufacturer's scores moved up makes its flag rate differ by more than the plan's 0.20: the gap clause is
    breached, and the anomaly opened names the plan's owner; the same traffic without the shift breaches nothing."""
    store, root, run_id, model = _planned(tmp_path)
    send(store, 300, seed=91, model=model)
    assert _plan_findings(store, root, run_id, model) == []
    store2, root2, run2, model2 = _planned(tmp_path / "shifted")
    send(store2, 300, seed=91, model=model2, shift=0.6, shifted_maker="Globex")
    found = _plan_findings(store2, root2, run2, model2)
    assert found == ["a flag-rate gap between manufacturers above 0.20: Manufacturer"]
    reference = from_run(store2, run2, root2)
    report = run_monitoring(store2, reference, find_plan(store2, model2, root2))
    register = tmp_path / "anomalies.yaml"
    opened = open_anomalies(report, register)
    gap = next(a for a in load_register(register) if a.id in opened and "flag-rate gap" in a.title)
    assert OWNER in gap.evaluation


def _labels(store: Store, path: Path, *, broken_site: str | None) -> Path:
    """Truth that the score at 0.5 finds, except at `broken_site`, where it is a coin toss."""
    import numpy as np

    rng = np.random.default_rng(5)
    with store.reader() as session:
        rows = sorted(session.exec(select(InferenceRecord)).all(), key=lambda r: r.request_id)
    lines = ["request_id,label,truth,site"]
    for i, row in enumerate(rows):
        site = "a" if i % 2 else "b"
        score = json.loads(row.output)[0][LABELS[0]]
        truth = int(rng.random() < 0.5) if site == broken_site else int(score + rng.normal(0, 0.03) >= 0.5)
        lines.append(f"{row.request_id},{LABELS[0]},{truth},{site}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_sensitivity_drop_in_one_site_triggers_with_the_stated_bound(tmp_path: Path) -> None:
    """When one site's truth stops following the scores, sensitivity's lower 95 % bound falls below the plan's 0.5 in
    that site (and overall), and not in the other; with truth that follows the scores, nothing is breached."""
    store, root, run_id, model = _planned(tmp_path)
    send(store, 400, seed=92, model=model, shift=0.3)
    assert _plan_findings(store, root, run_id, model, _labels(store, tmp_path / "good.csv", broken_site=None)) == []
    found = _plan_findings(store, root, run_id, model, _labels(store, tmp_path / "bad.csv", broken_site="b"))
    clause = "sensitivity of any group below 0.5 on its lower 95 % bound"
    assert f"{clause}: site=b" in found and f"{clause}: site=a" not in found


def test_a_window_given_by_hand_overrides_the_plan_with_a_note(tmp_path: Path) -> None:
    """A window length given on the command line replaces the plan's frequency, and the report says so."""
    store, root, run_id, model = _planned(tmp_path)
    send(store, 50, seed=93, model=model)
    report = run_monitoring(store, from_run(store, run_id, root), find_plan(store, model, root),
                            window=timedelta(hours=6))
    assert report.window == timedelta(hours=6) and "overrides the plan's frequency" in report.notes[0]
    assert report.to_json()["plan"]["owner"] == OWNER


def test_the_report_states_the_plan_and_its_trigger_rows(tmp_path: Path) -> None:
    """The rendered monitoring report names the plan's owner, frequency and triggers, and each window's trigger rows."""
    from qms.documents.render import DocumentHeader
    from qms.monitor.report import render_report

    store, root, run_id, model = _planned(tmp_path)
    send(store, 100, seed=94, model=model)
    report = run_monitoring(store, from_run(store, run_id, root), find_plan(store, model, root))
    html = render_report(report, DocumentHeader("Synthetic Triage", "Example Ltd", "1.0.0"), "d" * 40, pdf=False).html
    assert OWNER in html and "every 7 days, and after every 400 flagged studies" in html
    assert "a flag-rate gap between manufacturers above 0.20" in html and "Manufacturer" in html


def test_the_example_projects_plan_is_executable() -> None:
    """The example project's bias protocol states a plan `qms monitor` can run: its frequency and every clause."""
    from qms.validation.protocolparser import read_protocol

    protocol = read_protocol(Path(__file__).resolve().parents[2] / "examples/cxr-triage/protocols/VAL-BIAS-001.yaml")
    assert protocol.post_market is not None and protocol.subgroups is not None
    assert parse_frequency(protocol.post_market.frequency, "p").flagged == 500
    kinds = [type(t) for t in parse_trigger(protocol.post_market.trigger, protocol.subgroups, "p")]
    assert kinds == [Bound, Gap]


def test_the_plans_metrics_are_reported_for_every_group(tmp_path: Path) -> None:
    """Each metric the plan watches is reported in every group of each window, with its interval (flag rate without
    ground truth; sensitivity only once truth arrives)."""
    store, root, run_id, model = _planned(tmp_path)
    send(store, 200, seed=95, model=model)
    report = run_monitoring(store, from_run(store, run_id, root), find_plan(store, model, root))
    watched = [r for r in report.windows[0].triggers if not r["trigger"]]
    assert {(r["metric"], r["group"]) for r in watched} >= {("flag_rate", "overall=all"), ("flag_rate", "Manufacturer=Acme"),
                                                            ("sensitivity", "overall=all")}
    assert all(r["interval"] is not None for r in watched if r["metric"] == "flag_rate")
    assert all(r["n"] == 0 for r in watched if r["metric"] == "sensitivity")
