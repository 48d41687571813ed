"""The interpretation section and the post-market plan: computed confounding, limitations, groups to monitor, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qms.validation import interpretation, monitoring
from qms.validation.intervals import CIMethod
from qms.validation.metrics import CISpec, LabelCases, Metric
from qms.validation.protocol import AttributeSpec, BiasCriterion, BiasKind, Multiplicity, Subgroups
from qms.validation.protocolparser import read_protocol
from qms.validation.subgroups import analyse, evaluate_bias, with_disparities
from tests.validation.synthetic import assert_refused_at, PROTOCOL, write_protocol

SPEC = Subgroups(label="x", threshold=0.5, metrics=(Metric.SENSITIVITY, Metric.SPECIFICITY),
                 ci=CISpec(CIMethod.BOOTSTRAP_PERCENTILE, 0.95, 200, 1), attributes=(AttributeSpec("grp"),
                 AttributeSpec("site")), min_size=30, min_positives=5)
GAP = BiasCriterion("GAP", BiasKind.MAX_GAP, "grp", 0.05, Metric.SENSITIVITY)
STATED = interpretation.InterpretationSpec("Missed findings delay care.", "Label the device for B only.")


def _confounded() -> tuple[LabelCases, dict[str, list[object]]]:
    """Group A: high prevalence, mostly site s1, poor sensitivity; B: typical; C: 20 cases (below the minimum)."""
    rng = np.random.default_rng(5)
    grp = np.array(["A"] * 150 + ["B"] * 430 + ["C"] * 20)
    prevalence = np.where(grp == "A", 0.8, 0.3)
    y = (rng.random(600) < prevalence).astype(np.int64)
    site = np.where(grp == "A", np.where(rng.random(600) < 0.9, "s1", "s2"), rng.choice(["s1", "s2", "s3"], 600))
    signal = np.where(grp == "A", 0.2, 3.0)
    score = 1 / (1 + np.exp(-(signal * (y - 0.5) + rng.normal(size=600))))
    return LabelCases(y, score, np.arange(600)), {"grp": list(grp), "site": list(site)}


def _interpreted(spec: interpretation.InterpretationSpec | None) -> tuple[dict[str, object], list[object]]:
    cases, attrs = _confounded()
    rows, columns = analyse(SPEC, cases, attrs, Multiplicity.DESCRIPTIVE, {Metric.SENSITIVITY: 0.7})
    rows, intervals = with_disparities(SPEC, cases, rows, columns, (GAP,), Multiplicity.DESCRIPTIVE)
    overall = {Metric.SENSITIVITY: float(cases.calls(0.5)[cases.y == 1].mean())}
    bias = evaluate_bias((GAP,), SPEC, cases, rows, columns, overall, intervals)
    return interpretation.interpret(spec, SPEC, rows, bias, columns, float(cases.y.mean())), list(rows)


def test_flagged_group_gets_its_prevalence_make_up_and_limitation() -> None:
    """A failing group confounded by prevalence and site is reported with both, its reasons and a labeling limitation."""
    it, _ = _interpreted(STATED)
    by = {(g["attribute"], g["group"]): g for g in it["groups"]}  # type: ignore[union-attr]
    a = by[("grp", "A")]
    assert any("below the performance goal 0.7" in r for r in a["reasons"])
    assert "named by failed bias criterion GAP" in a["reasons"]
    assert a["prevalence"]["differs"] and a["prevalence"]["ratio"] > 1.5
    [site] = a["make_up"]
    assert site["attribute"] == "site" and site["value"] == "s1" and site["differs"] and site["share"] > 0.8
    assert a["precision"] == "below goal" and "grp = A" in a["labeling_limitation"]
    assert any("confounding by site possible" in f for f in a["findings"])
    assert it["clinical_relevance"] == "Missed findings delay care." and it["confounders"] == ["site"]


def test_small_group_is_insufficient_and_unflagged_groups_are_left_out() -> None:
    """A group below the minimum reads "insufficient" with a not-established limitation; a group meeting everything is absent."""
    it, _ = _interpreted(None)
    by = {(g["attribute"], g["group"]): g for g in it["groups"]}  # type: ignore[union-attr]
    c = by[("grp", "C")]
    assert c["precision"] == "insufficient" and not c["sufficient"]
    assert "has not been established" in c["labeling_limitation"] and "30 cases and 5 positives" in c["labeling_limitation"]
    assert ("grp", "B") not in by
    assert it["stated"] is False and it["clinical_relevance"] is None


def test_wide_interval_is_told_apart_from_poor_performance() -> None:
    """A group whose estimate meets the goal but whose lower bound misses it reads "wide interval"."""
    cases, attrs = _confounded()
    rows, columns = analyse(SPEC, cases, attrs, Multiplicity.DESCRIPTIVE, {Metric.SPECIFICITY: 0.5})
    it = interpretation.interpret(None, SPEC, rows, [], columns, float(cases.y.mean()))
    wide = [g for g in it["groups"] if g["precision"] == "wide interval"]
    assert wide and all(g["sufficient"] for g in wide)
    for g in wide:
        row = next(r for r in rows if (r.attribute, r.group) == (g["attribute"], g["group"]))
        assert row.values["specificity"]["estimate"] >= 0.5 > row.values["specificity"]["lower"]


def test_criterion_failing_only_on_its_upper_bound_is_read_as_imprecise() -> None:
    """A criterion whose estimate is within tolerance but whose upper bound is not is reported as a wide interval."""
    cases, attrs = _confounded()
    rows, columns = analyse(SPEC, cases, attrs, Multiplicity.DESCRIPTIVE, {})
    probe = BiasCriterion("FLAG", BiasKind.FLAG_RATE_PARITY, "site", 1.0, on="upper")
    _, intervals = with_disparities(SPEC, cases, rows, columns, (probe,), Multiplicity.DESCRIPTIVE)
    est, _, hi = intervals["FLAG"]
    bounded = BiasCriterion("FLAG", BiasKind.FLAG_RATE_PARITY, "site", (est + hi) / 2, on="upper")
    bias = evaluate_bias((bounded,), SPEC, cases, rows, columns, {}, intervals)
    it = interpretation.interpret(None, SPEC, rows, bias, columns, float(cases.y.mean()))
    [finding] = it["criteria"]
    assert finding["id"] == "FLAG" and "imprecise (wide interval)" in finding["finding"]


def test_post_market_plan_lists_under_represented_then_flagged_groups() -> None:
    """The plan carries the stated parts and lists each group below the minimum with what it lacks, then the flagged ones."""
    it, rows = _interpreted(STATED)
    stated = monitoring.PostMarketSpec((Metric.SENSITIVITY,), "quarterly", "sensitivity below 0.8", "safety officer")
    plan = monitoring.plan(stated, SPEC, rows, it["groups"])  # type: ignore[arg-type]
    assert (plan["stated"], plan["metrics"], plan["owner"]) == (True, ["sensitivity"], "safety officer")
    first = plan["groups"][0]
    assert (first["group"], first["reason"]) == ("C", "under-represented")
    assert first["short_of"]["cases"] == 10
    assert any(g["group"] == "A" and "GAP" in g["reason"] for g in plan["groups"][1:])
    unstated = monitoring.plan(None, SPEC, rows, [])  # type: ignore[arg-type]
    assert unstated["stated"] is False and unstated["metrics"] == [] and unstated["groups"]


BLOCKS = """interpretation:
  clinical_relevance: A missed pneumothorax delays treatment.
  mitigation: Label the device for adults.
  confounders: [site]
post_market:
  metrics: [sensitivity]
  frequency: quarterly
  trigger: sensitivity lower bound below 0.8
  owner: Clinical safety officer
"""


def test_interpretation_and_post_market_blocks_parse(tmp_path: Path) -> None:
    """`interpretation` and `post_market` parse into the protocol."""
    p = read_protocol(write_protocol(tmp_path, PROTOCOL + BLOCKS))
    assert p.interpretation == interpretation.InterpretationSpec("A missed pneumothorax delays treatment.",
                                                                 "Label the device for adults.", ("site",))
    assert p.post_market == monitoring.PostMarketSpec((Metric.SENSITIVITY,), "quarterly",
                                                      "sensitivity lower bound below 0.8", "Clinical safety officer")


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    ("confounders: [site]", "confounders: [Race]", "confounders:", "confounder 'Race' is not a subgroup attribute"),
    ("  clinical_relevance: A missed pneumothorax delays treatment.\n", "  clinical_relevance: ' '\n",
     "clinical_relevance:", "interpretation.clinical_relevance is empty"),
    ("  mitigation: Label the device for adults.\n", "", "interpretation:", "missing required key interpretation.mitigation"),
    ("  confounders: [site]\n", "  confounders: [site]\n  relevance: x\n", "  relevance: x", "unknown key 'relevance'"),
    ("metrics: [sensitivity]", "metrics: [specificity]", "metrics: [specificity]", "specificity is not among the subgroup metrics"),
    ("metrics: [sensitivity]", "metrics: [recall]", "metrics: [recall]", "unknown value 'recall'"),
    ("metrics: [sensitivity]", "metrics: []", "metrics: []", "post_market.metrics is empty"),
    ("  owner: Clinical safety officer\n", "", "post_market:", "missing required key post_market.owner"),
    ("  frequency: quarterly\n", "  frequency: 4\n", "frequency:", "post_market.frequency must be str"),
])
def test_bad_interpretation_or_post_market_names_its_line(tmp_path: Path, old: str, new: str, needle: str,
                                                          message: str) -> None:
    """An unknown confounder or metric, a blank or missing statement, or an unknown key is refused at its line."""
    text = PROTOCOL + BLOCKS.replace(old, new)
    assert_refused_at(tmp_path, text, needle, message)


def test_blocks_need_a_subgroups_section(tmp_path: Path) -> None:
    """An interpretation or a post-market plan without a subgroups section is refused at its line."""
    base = PROTOCOL[:PROTOCOL.index("subgroups:")] + PROTOCOL[PROTOCOL.index("multiplicity:"):]
    for block, needle in (("interpretation", "interpretation:"), ("post_market", "post_market:")):
        text = base + BLOCKS[BLOCKS.index(f"{block}:"):] if block == "post_market" else \
            base + BLOCKS[:BLOCKS.index("post_market:")]
        assert_refused_at(tmp_path, text, needle, "needs a subgroups section")
