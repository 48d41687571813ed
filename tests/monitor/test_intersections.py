"""The plan's triggers judge the intersection cells the protocol lists (sex × age band), as the bias report crosses
them: a shift planted in one cell triggers, the same traffic without it does not."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from qms.api.records import InferenceRecord
from qms.errors import QmsError
from qms.monitor.plan import MonitoringPlan
from qms.monitor.triggers import PLAN_TRIGGER, check_triggers
from qms.monitor.windows import windows
from qms.validation.criteria import AttributeSpec, Subgroups
from qms.validation.intervals import CIMethod
from qms.validation.metrics import CISpec, Metric
from qms.validation.post_market import Gap, parse_frequency, parse_trigger
from tests.monitor.traffic import LABELS, MODEL, START

SEX, AGE = AttributeSpec("PatientSex"), AttributeSpec("PatientAge", bins=(40.0, 65.0))
SUBGROUPS = Subgroups(LABELS[0], 0.5, (Metric.FLAG_RATE,), CISpec(CIMethod.WILSON), (SEX, AGE), 40, 0,
                      intersections=(("PatientSex", "PatientAge"),))
CELL = "PatientSex × PatientAge"
TRIGGER = ("flag-rate of any group above 0.5 on its lower 95 % bound, or a flag-rate gap between PatientSex × "
           "PatientAge cells above 0.35")


def test_a_gap_clause_may_name_a_listed_intersection() -> None:
    """'a METRIC gap between A × B cells' reads as a gap over the listed intersection; an unlisted one is refused."""
    gap = parse_trigger("a flag-rate gap between patientsex x patientage cells above 0.35", SUBGROUPS, "p")[0]
    assert gap == Gap(Metric.FLAG_RATE, CELL, 0.35, gap.text)
    unlisted = Subgroups(LABELS[0], 0.5, (Metric.FLAG_RATE,), CISpec(CIMethod.WILSON), (SEX, AGE), 40, 0)
    with pytest.raises(QmsError, match="no subgroup attribute or listed intersection"):
        parse_trigger("a flag-rate gap between PatientSex × PatientAge cells above 0.35", unlisted, "p")


def _traffic(n: int, *, planted: bool) -> tuple[list[InferenceRecord], dict[tuple[str, int], tuple[int, dict[str, str]]]]:
    """`n` requests from six sex × age cells in turn; with `planted`, only women of 65 and over get scores moved up."""
    rng = np.random.default_rng(7)
    rows, labelled = [], {}
    for i in range(n):
        sex, age = ("F", "M")[i % 2], ("30", "50", "70")[(i // 2) % 3]
        shifted = planted and sex == "F" and age == "70"
        score = float(rng.beta(8, 4) if shifted else rng.beta(2, 5))
        rid = f"{i:032d}"
        rows.append(InferenceRecord(request_id=rid, client="c", model_ref=MODEL, model_digest="0" * 64,
                                    input_sha256=f"{i:064d}", pseudonyms="{}", inputs=json.dumps([{}]),
                                    output=json.dumps([{LABELS[0]: score, LABELS[1]: 0.5}]), latency_ms=1.0,
                                    created_at=START + timedelta(minutes=i)))
        labelled[(rid, 0)] = (int(rng.random() < 0.3), {"PatientSex": sex, "PatientAge": age})
    return rows, labelled


@pytest.mark.parametrize("planted", [True, False])
def test_a_shift_in_one_intersection_cell_triggers_and_none_does_not(planted: bool) -> None:
    """Women of 65 and over flagged far more often breach both clauses in that cell alone (neither sex nor age band
    alone crosses the bound); without the shift no clause is breached, though every cell was judged."""
    plan = MonitoringPlan("run", "VAL-BIAS@1", Path("p.yaml"), "owner", (Metric.FLAG_RATE,),
                          parse_frequency("weekly", "p"), parse_trigger(TRIGGER, SUBGROUPS, "p"), SUBGROUPS,
                          ((CELL, "F × >=65"),))
    rows, labelled = _traffic(720, planted=planted)
    window = windows(rows, timedelta(days=7))[0]
    trigger_rows, findings = check_triggers(plan, window, labelled)
    cells = [r for r in trigger_rows if r["trigger"].startswith("flag-rate of") and r["group"].startswith(CELL)]
    assert len(cells) == 6 and all(r["judged"] for r in cells)
    found = sorted(f.item.split("@")[0] for f in findings if f.check == PLAN_TRIGGER)
    if planted:
        assert found == [f"{TRIGGER.split(', or ')[1]}: {CELL}", f"{TRIGGER.split(', or ')[0]}: {CELL}=F × >=65"]
    else:
        assert found == []
