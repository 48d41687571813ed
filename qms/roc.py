"""The ROC curve and its trapezoidal area, in numpy alone: what scikit-learn's `roc_curve` and `roc_auc_score` give.

For the figures of a validation run and the tuning AUROC a training run records: both
then run without importing scikit-learn (about a second of start-up). Equal to
scikit-learn's values, float for float (tests/core/test_roc.py); the validation
endpoints' AUROC is `qms.validation.auroc` (exact Mann-Whitney), not this.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["roc_auc", "roc_points"]


def roc_points(y: ArrayLike, scores: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(false-positive rate, true-positive rate) from (0, 0) through each distinct score, collinear points dropped.

    scikit-learn's `roc_curve(y, scores)` (drop_intermediate=True); nan rates without negatives or positives.
    """
    ranked_scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-ranked_scores, kind="stable")
    ranked, truth = ranked_scores[order], (np.asarray(y) == 1).astype(np.float64)[order]
    ends = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tps = np.cumsum(truth)[ends]
    fps = 1 + ends - tps
    if len(fps) > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps = fps[keep], tps[keep]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return fpr, tpr


def roc_auc(y: ArrayLike, scores: ArrayLike) -> float:
    """The trapezoidal area under `roc_points`: scikit-learn's `roc_auc_score`; nan unless both classes occur."""
    truth = np.asarray(y)
    if len(np.unique(truth)) != 2:
        return float("nan")
    fpr, tpr = roc_points(truth, scores)
    return float((np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0).sum())
