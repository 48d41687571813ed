"""Subgroup analysis against a straightforward per-group reference: the coded, sort-once path changes no value."""

from __future__ import annotations

import math
import re
from functools import reduce
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from qms.validation.auroc import auroc
from qms.validation.intervals import CIMethod
from qms.validation.metrics import CISpec, LabelCases, Metric, interval
from qms.validation.protocol import AttributeSpec, Multiplicity, Subgroups
from qms.validation.criteria import CROSS, intersection_name
from qms.validation.subgroups import INSUFFICIENT, UNKNOWN, analyse, dimensions, groups_of

# plain strings (the hashed path), numpy strings, blanks, a literal "unknown", the separator, and non-strings
_PLAIN = st.sampled_from(["F", "M", "", UNKNOWN, "a×b", "Zz", "é"])
_MIXED = st.one_of(_PLAIN, st.sampled_from([None, float("nan"), 1, 1.0, True, np.str_("F")]))


def _reference_columns(spec: Subgroups, attributes: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    """Each case's group as strings, intersections joined string by string (the definition)."""
    columns = {a.name: groups_of(attributes[a.name], a) for a in spec.attributes}
    for combo in spec.intersections:
        columns[intersection_name(combo)] = reduce(lambda a, b: np.char.add(np.char.add(a, CROSS), b),
                                            [columns[name] for name in combo])
    return columns


def _reference(spec: Subgroups, cases: LabelCases, attributes: dict[str, list[Any]]) -> list[tuple[Any, ...]]:
    """Per group, by a mask on the string column: n, positives, flags and each metric's estimate and interval."""
    columns = _reference_columns(spec, attributes)
    family = sum(len(set(col.tolist())) for col in columns.values()) * len(spec.metrics)
    out = []
    for name, col in columns.items():
        for group in sorted(set(col.tolist())):
            sub = cases.subset(np.flatnonzero(col == group))
            y, c = sub.y, sub.calls(spec.threshold)
            n, pos = len(y), int(y.sum())
            values = {}
            for m in spec.metrics:
                ci = spec.ci_for(m)
                ci = CISpec(ci.method, 1 - (1 - ci.level) / family, ci.resamples, ci.seed) if family > 1 else ci
                iv = interval(m, [sub], spec.threshold, ci)
                hit, den = {Metric.SENSITIVITY: (int(c @ y), pos), Metric.SPECIFICITY: (int((1 - c) @ (1 - y)), n - pos),
                            Metric.AUROC: (0, 0)}[m]
                est = auroc(sub.ranking_scores(), y) if m is Metric.AUROC else hit / den if den else float("nan")
                values[m.value] = (est, iv.lower, iv.upper, iv.level)
            sufficient = n >= spec.min_size and pos >= spec.min_positives
            out.append((name, group, n, pos, sufficient, () if sufficient else (INSUFFICIENT,), values))
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal to the last digit, nan equal to nan."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, z) for x, z in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@st.composite
def _datasets(draw: st.DrawFn) -> tuple[LabelCases, dict[str, list[Any]], bool]:
    n = draw(st.integers(1, 120))
    seed = draw(st.integers(0, 2 ** 16))
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < draw(st.floats(0.0, 1.0))).astype(np.int64)
    score = np.round(rng.random(n) + 0.3 * y, draw(st.integers(1, 3)))  # rounded: tied scores
    score[rng.random(n) < 0.05] = np.nan  # failed cases
    per_patient = draw(st.integers(1, 3))
    clusters = np.arange(n, dtype=np.int64) // per_patient
    mixed = draw(st.booleans())
    site = draw(st.lists(_MIXED if mixed else _PLAIN, min_size=n, max_size=n))
    sex = draw(st.lists(_PLAIN, min_size=n, max_size=n))
    return LabelCases(y, score, clusters), {"site": site, "sex": sex}, mixed


@settings(max_examples=40, deadline=None)
@given(data=_datasets(), delong=st.booleans())
def test_every_group_matches_a_per_group_mask_reference(data: tuple[LabelCases, dict[str, list[Any]], bool],
                                                         delong: bool) -> None:
    """Every group's n, positives, flags, estimates and intervals equal a mask-per-group computation on the strings."""
    cases, attributes, _ = data
    spec = Subgroups(label="x", threshold=0.5, metrics=(Metric.AUROC, Metric.SENSITIVITY, Metric.SPECIFICITY),
                     ci=CISpec(CIMethod.BOOTSTRAP_PERCENTILE, 0.95, 60, 3),
                     attributes=(AttributeSpec("site"), AttributeSpec("sex")), min_size=5, min_positives=2,
                     intersections=(("site", "sex"),),
                     ci_by_metric={Metric.AUROC: CISpec(CIMethod.DELONG)} if delong else {})
    try:
        reference = _reference(spec, cases, attributes)
    except ValueError as refused:  # e.g. clustered DeLong on a group of one patient: refused the same way
        with pytest.raises(ValueError, match=re.escape(str(refused))):
            analyse(spec, cases, attributes, Multiplicity.BONFERRONI, {})
        return
    rows, columns = analyse(spec, cases, attributes, Multiplicity.BONFERRONI, {})
    got = [(r.attribute, r.group, r.n, r.positives, r.sufficient, r.flags,
            {k: (v["estimate"], v["lower"], v["upper"], v["level"]) for k, v in r.values.items()}) for r in rows]
    assert _same(got, reference)
    expected = _reference_columns(spec, attributes)
    assert list(columns) == list(expected)
    for name, col in expected.items():
        assert columns[name].dtype == col.dtype and columns[name].tolist() == col.tolist()
        assert dimensions(spec, attributes)[name].tolist() == col.tolist()


def test_a_dataset_of_one_cell_is_analysed() -> None:
    """One group whose cases share label and call (one confusion cell) gets its values instead of a fairlearn error."""
    spec = Subgroups(label="x", threshold=0.5, metrics=(Metric.AUROC, Metric.SPECIFICITY, Metric.SENSITIVITY),
                     ci=CISpec(CIMethod.BOOTSTRAP_PERCENTILE, 0.95, 60, 3), attributes=(AttributeSpec("site"),),
                     min_size=5, min_positives=2)
    cases = LabelCases(np.zeros(3, dtype=np.int64), np.array([0.1, 0.2, 0.3]), np.arange(3, dtype=np.int64))
    (row,), _ = analyse(spec, cases, {"site": ["a", "a", "a"]}, Multiplicity.BONFERRONI, {})
    assert row.values["specificity"]["estimate"] == 1.0
    assert math.isnan(row.values["sensitivity"]["estimate"]) and math.isnan(row.values["auroc"]["estimate"])
