"""Text metrics of generated reports through Hugging Face `evaluate`, from local modules only.

`evaluate.load("rouge")` fetches a script from the Hub at run time, which fails offline and
on hospital networks and runs code nobody locked. qmskit ships its own modules as package
data (`validation/metrics_modules/`: ROUGE-L through `rouge_score`, BLEU through
`sacrebleu`) and loads them, and a protocol's own module, by path with the Hub switched
off. A protocol's own module is named with its sha256, which the protocol lock freezes; a
module whose bytes differ from it is refused before it is imported (its code never runs).

Every text metric gets a patient-clustered bootstrap interval, the corpus-level score
recomputed on each resample (a drawn patient's cases counted as often as the patient is drawn):

- ROUGE-L, a mean of per-case scores: the weighted mean of the scores, once per resample;
- BLEU, a corpus score: sacrebleu's per-case sufficient statistics (n-gram matches and
  totals, lengths) are extracted once, summed per resample and scored as `corpus_bleu` does
  (`bleu_statistic`); with every case once it is `corpus_bleu` exactly (tested);
- a protocol's own module, whose score qmskit cannot decompose: the module's `compute` runs
  on each resample's list of (prediction, reference) pairs (`resampled_statistic`). The cost
  is bounded by the protocol: one `compute` per resample of the interval's `ci.resamples`
  (plus one per patient for bootstrap-bca's jackknife), each over about as many pairs as
  the test set has (about 0.25 s for 1,000 pairs through `evaluate`, so 2,000 resamples take
  minutes); a protocol bounds it with the module's own `resamples` (at least 100), which
  its intervals then use whatever the CI states.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qms.errors import CheckFailed
from qms.hashing import sha256_file
from qms.validation.intervals import FloatArray, Statistic

__all__ = [
    "BUILTIN", "ModuleSpec", "bleu_statistic", "builtin", "builtin_path", "compute", "load_module", "resampled_statistic",
]

BUILTIN = {"rouge_l": "rouge_l", "bleu": "bleu"}
"""Metric name -> the result key of qmskit's own module of that name."""

_OFFLINE = {"HF_EVALUATE_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


@dataclass(frozen=True)
class ModuleSpec:
    """A protocol's own `evaluate` module: its file, the sha256 it is locked at, the result key it reports."""

    id: str
    path: str
    sha256: str
    key: str
    where: str = ""
    resamples: int | None = None
    """The resamples of its interval, each one `compute` (default: the interval's `ci.resamples`)."""


def builtin_path(name: str) -> Path:
    """The folder of one of qmskit's shipped metric modules (package data)."""
    ref = resources.files("qms.validation") / "metrics_modules" / name
    return Path(str(ref))


@functools.cache
def builtin(name: str) -> Any:
    """One of qmskit's shipped modules, loaded once per process."""
    return load_module(builtin_path(name))


def load_module(path: Path, sha256: str | None = None, *, where: str = "") -> Any:
    """An `evaluate` module from a local file or folder, the Hub switched off; refused if its hash is not `sha256`."""
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256:
            raise CheckFailed(f"metric module {path} has sha256 {actual}, the protocol locks {sha256}",
                              where=where or str(path),
                              hint="a locked protocol runs only the module it locked; lock a new version to change it")
    # evaluate and datasets read these when imported and before a load: no Hub look-up, local files only.
    os.environ.update(_OFFLINE)
    import evaluate

    evaluate.config.HF_EVALUATE_OFFLINE = True
    return evaluate.load(str(path), keep_in_memory=True)


def compute(module: Any, predictions: Sequence[str], references: Sequence[str], **kwargs: Any) -> dict[str, Any]:
    """The module's result on (prediction, reference) pairs."""
    result = module.compute(predictions=list(predictions), references=list(references), **kwargs)
    if not isinstance(result, dict):
        raise CheckFailed(f"metric module {module.name!r} returned {type(result).__name__}, not a mapping of results")
    return result


def bleu_statistic(predictions: Sequence[str], references: Sequence[str]) -> Statistic:
    """Corpus BLEU as a function of case weights: each row's weighted sum of per-case statistics, scored."""
    from sacrebleu.metrics.bleu import BLEU

    bleu = BLEU()
    # sacrebleu's own split of corpus_bleu: per-segment statistics, then the score of their sum.
    stats = np.asarray(bleu._extract_corpus_statistics(list(predictions), [list(references)]), dtype=np.int64)

    def statistic(w: NDArray[np.int32]) -> FloatArray:
        sums = w.astype(np.int64) @ stats
        return np.array([bleu._compute_score_from_stats(row.tolist()).score for row in sums], dtype=np.float64)

    return statistic


def resampled_statistic(module: Any, key: str, predictions: Sequence[str], references: Sequence[str]) -> Statistic:
    """A module's corpus score as a function of case weights: its `compute` on each row's resampled pairs.

    Row i lists every case as often as its weight, in case order, so a patient drawn twice
    brings each of its reports twice. A module need not be thread-safe: calls are serialised.
    A result that is not a number under `key` is undefined (nan) for that resample.
    """
    pairs = np.array(list(predictions), dtype=object), np.array(list(references), dtype=object)
    lock = threading.Lock()

    def score(row: NDArray[np.int32]) -> float:
        index = np.repeat(np.arange(len(row)), row)
        if len(index) == 0:
            return float("nan")
        with lock:
            value = compute(module, pairs[0][index].tolist(), pairs[1][index].tolist()).get(key)
        return float(value) if isinstance(value, (int, float)) else float("nan")

    def statistic(w: NDArray[np.int32]) -> FloatArray:
        return np.array([score(row) for row in w], dtype=np.float64)

    return statistic
