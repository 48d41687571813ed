"""The run's figures as PNG (matplotlib, Agg): ROC with a confidence band, subgroup forest plot, calibration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

__all__ = ["calibration", "calibration_points", "forest", "roc"]

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from qms.atomic import atomic_writer  # noqa: E402
from qms.roc import roc_points  # noqa: E402
from qms.validation.intervals import draws_to_weights, resample_draws  # noqa: E402
from qms.validation.metrics import LabelCases  # noqa: E402

_GRID = np.linspace(0, 1, 101)


def calibration_points(y: NDArray[np.int64], p: NDArray[np.float64],
                       bins: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(observed fraction positive, mean predicted) per non-empty quantile bin.

    sklearn's `calibration_curve(strategy="quantile")` in numpy alone (tested equal).
    """
    prob = np.asarray(p, dtype=np.float64)
    edges = np.percentile(prob, np.linspace(0, 1, bins + 1) * 100)
    which = np.searchsorted(edges[1:-1], prob)
    total = np.bincount(which, minlength=bins)
    nonzero = total != 0
    observed = np.bincount(which, weights=np.asarray(y, dtype=np.float64), minlength=bins)[nonzero] / total[nonzero]
    predicted = np.bincount(which, weights=prob, minlength=bins)[nonzero] / total[nonzero]
    return observed, predicted


def _save(fig: Any, path: Path) -> None:
    with atomic_writer(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)


def _roc_band(cases: LabelCases, resamples: int, seed: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise cluster-bootstrap band of sensitivity at each false-positive rate of the grid."""
    order = np.argsort(-cases.ranking_scores(), kind="stable")
    y = cases.y[order]
    curves = []
    for draws in resample_draws(int(cases.clusters.max()) + 1, resamples, seed):
        w = draws_to_weights(draws, cases.clusters)[:, order].astype(np.float64)
        tp, fp = np.cumsum(w * y, axis=1), np.cumsum(w * (1 - y), axis=1)
        for t, f in zip(tp, fp, strict=True):
            if t[-1] > 0 and f[-1] > 0:
                curves.append(np.interp(_GRID, np.r_[0, f / f[-1]], np.r_[0, t / t[-1]]))
    band = np.quantile(np.array(curves), [(1 - level) / 2, (1 + level) / 2], axis=0)
    return band[0], band[1]


def roc(cases: LabelCases, label: str, auroc: Mapping[str, Any], path: Path, *, seed: int) -> None:
    fpr, tpr = roc_points(cases.y, cases.ranking_scores())
    lo, hi = _roc_band(cases, 200, seed, 0.95)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.fill_between(_GRID, lo, hi, alpha=0.25, label="95% pointwise bootstrap band")
    ax.plot(fpr, tpr, lw=2, label=f"AUROC {auroc['estimate']:.3f} [{auroc['lower']:.3f}, {auroc['upper']:.3f}]")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=f"ROC: {label}")
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, path)


def forest(groups: Sequence[Mapping[str, Any]], metric: str, goal: float | None, path: Path) -> None:
    """One row per subgroup: estimate and interval; insufficient groups drawn hollow."""
    rows = [g for g in groups if metric in g["metrics"]]
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(rows) + 1.2))
    for i, g in enumerate(rows):
        m = g["metrics"][metric]
        est, lo, hi = (np.nan if m[k] is None else m[k] for k in ("estimate", "lower", "upper"))
        ax.errorbar(est, i, xerr=[[max(est - lo, 0)], [max(hi - est, 0)]], fmt="o",
                    mfc="white" if not g["sufficient"] else None, color="C0", capsize=3)
    ax.set_yticks(range(len(rows)), [f"{g['attribute']}={g['group']} (n={g['n']})" for g in rows], fontsize=7)
    if goal is not None:
        ax.axvline(goal, color="C3", ls="--", lw=1, label=f"goal {goal:g}")
        ax.legend(fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel=f"{metric} (hollow: insufficient, descriptive only)", title=f"{metric} by subgroup")
    fig.tight_layout()
    _save(fig, path)


def calibration(cases: LabelCases, label: str, path: Path) -> None:
    ok = ~cases.failed
    frac, mean = calibration_points(cases.y[ok], cases.score[ok], 10)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(mean, frac, "o-", label=label)
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set(xlabel="mean predicted probability", ylabel="observed fraction positive", title=f"Calibration: {label}")
    ax.legend(fontsize=8)
    _save(fig, path)
