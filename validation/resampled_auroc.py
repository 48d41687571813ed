"""Every bootstrap resample's AUROC from one sort, in O(cases) per resample, on numpy or torch.

The scores are sorted once and grouped into bins of equal (score, class), negatives first
within a score. A resample's drawn counts per bin come from a bincount of the draws (or,
for clustered cases, the drawn clusters' counts through the case-to-bin incidence
matrix); the running sum C of the negatives' counts then gives the Mann-Whitney statistic
with ties at one half, kept as the integer 2U:

    2U = sum over positive bins b of w_b (2 C_b - w_(b-1) [b-1 is the negative bin of b's score])

since C at a positive bin counts the negatives below its score and those tied with it.
2U, the drawn positives M and negatives N are exact integers, so U / (M N) is the same
float64 whatever computed them: numpy row by row on the CPU, or torch in batches (CUDA when
present), give the intervals of the rank-sum form (`SortedScores.auroc_of_draws`) to the
last digit. The draws themselves are the protocol's (`qms.validation.intervals`).

On the CPU the per-resample loop is compiled (numba): one pass over the draws adds each
drawn case's count straight into its bin and one pass over the bins forms 2U, where numpy
needs a gather, a bincount, a cumulative sum and two products, each a pass over memory. The
numpy form stays as the reference the compiled one is tested against, to the last digit.
Given the chunk's seed instead of its draws (`of_seed`), the compiled loop makes the very
same draws itself (`qms.validation.pcg64_draws`) a block at a time and counts each block
while it is in the L1 cache: the draws are never stored.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import torch
    from scipy.sparse import csr_matrix

__all__ = ["ScoreBins", "torch_device"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_COMPILED_MIN_CELLS = 4_000_000
"""Smaller chunks are counted by numpy (the same values): milliseconds, where loading numba and its compiled
loops costs a fresh process about 0.5 CPU-s (a 32-case validation run paid it for nothing)."""
_GPU_MIN_CELLS = 1_000_000
"""Chunks with fewer draws stay on numpy, where a GPU's transfers and launches would dominate (an estimate: no
GPU has measured it yet)."""


@functools.cache
def torch_device() -> str | None:
    """The device "cuda" when torch is installed and sees a GPU, else None (checked once; torch imported only then)."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return "cuda" if torch.cuda.is_available() else None


class ScoreBins:
    """Cases binned once by (score, class) in score order; maps bootstrap draws to each resample's AUROC.

    `engine`: "auto" (torch on CUDA when present and the chunk is large, else the compiled
    CPU loop, or numpy for a small chunk), "numba", "numpy" (the reference form), or a torch device name ("cpu", "cuda").
    """

    def __init__(self, scores: FloatArray, y: NDArray[np.int_], engine: str = "auto") -> None:
        order = np.lexsort((y, scores))
        s, positive = scores[order], np.asarray(y)[order].astype(bool)
        new_score = np.r_[True, s[1:] != s[:-1]]
        first = new_score | np.r_[True, positive[1:] != positive[:-1]]
        index = np.cumsum(first, dtype=np.intp) - 1
        self.bin_of = np.empty(len(order), dtype=np.intp)  # each case's bin, cases in input order
        self.bin_of[order] = index
        starts = np.flatnonzero(first)
        # 0/1 per bin as int64: multiplying int64 counts by a bool mask costs twice as much (a mixed-type loop)
        self.positive = positive[starts].astype(np.int64)
        self.negative = 1 - self.positive
        # positive bins that share their score with the negative bin just before them
        self.tied = np.flatnonzero(positive[starts] & ~new_score[starts])
        # for the compiled loop: the cases in score order, each flagged 1 if positive, 2 if its score is new
        self._order32 = order.astype(np.int32)
        self._flags = (positive.astype(np.uint8) | (new_score.astype(np.uint8) << 1)).astype(np.uint8)
        self.engine = engine
        self._incidence: tuple[NDArray[np.int64], csr_matrix] | None = None
        self._tensors: dict[str, _Tensors] = {}

    @property
    def bins(self) -> int:
        return len(self.positive)

    def __call__(self, draws: NDArray[np.int32], clusters: IntArray | None = None) -> FloatArray:
        """AUROC of each row of draws (case indices, or cluster indices given each case's cluster)."""
        device = self._device(draws.size)
        if device == "numba":
            twice_u, m, n = self._compiled(draws, clusters)
        elif device is None:
            twice_u, m, n = self._numpy(draws, clusters)
        else:
            twice_u, m, n = self._torch(draws, clusters, device)
        return self._auroc(twice_u, m, n)

    @staticmethod
    def _auroc(twice_u: IntArray, m: IntArray, n: IntArray) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            den = m.astype(np.float64) * n.astype(np.float64)
            return np.where(den > 0, twice_u.astype(np.float64) / 2 / den, np.nan)

    def _device(self, cells: int) -> str | None:
        """None for numpy, "numba" for the compiled loop, else a torch device."""
        if self.engine == "numpy":
            return None
        if self.engine != "auto":
            return self.engine
        gpu = torch_device() if cells >= _GPU_MIN_CELLS else None
        if gpu is None and cells < _COMPILED_MIN_CELLS:
            return None
        return gpu or "numba"

    def of_seed(self, n_clusters: int, seed: np.random.SeedSequence, rows: int,
                clusters: IntArray | None) -> FloatArray | None:
        """AUROC of each of `rows` resamples drawn from `seed` as `intervals.resample_draws` draws them.

        The compiled loop draws each row and counts it at once; None where another engine is
        chosen (the caller then draws and calls this object).
        """
        if self._device(rows * n_clusters) != "numba":
            return None
        from qms.validation.pcg64_draws import jumps, stream_of

        state, buffer = stream_of(seed)
        out = _kernels().seeded(state, buffer, jumps(), rows, n_clusters, self._key(clusters), self._flags)
        return self._auroc(out[0], out[1], out[2])

    def _key(self, clusters: IntArray | None) -> NDArray[np.int32]:
        """What a draw names for each case in score order: the case, or its cluster."""
        return self._order32 if clusters is None else np.asarray(clusters, dtype=np.int32)[self._order32]

    def _compiled(self, draws: NDArray[np.int32], clusters: IntArray | None) -> tuple[IntArray, IntArray, IntArray]:
        """The compiled loop: each row's draws counted per cluster, then one walk over the cases in score order."""
        out = _kernels().drawn(draws, self._key(clusters), self._flags)
        return out[0], out[1], out[2]

    def _cluster_bins(self, clusters: IntArray) -> csr_matrix:
        """(bins x clusters) counts of each cluster's cases per bin, kept for the clusters last seen."""
        cached = self._incidence
        if cached is not None and cached[0] is clusters:
            return cached[1]
        k = int(clusters.max()) + 1 if len(clusters) else 0
        ones = np.ones(len(clusters), dtype=np.int64)
        from scipy.sparse import csr_matrix  # scipy loads when clusters are resampled, not when a protocol is read

        matrix = csr_matrix((ones, (self.bin_of, clusters)), shape=(self.bins, k), dtype=np.int64)
        matrix.sum_duplicates()
        self._incidence = (clusters, matrix)
        return matrix

    def _numpy(self, draws: NDArray[np.int32], clusters: IntArray | None) -> tuple[IntArray, IntArray, IntArray]:
        """Row by row: one row's counts and running sum stay in cache, which beats a batched form on the CPU."""
        rows = len(draws)
        out = np.empty((3, rows), dtype=np.int64)
        matrix = None if clusters is None else self._cluster_bins(clusters)
        for i, row in enumerate(draws):
            if matrix is None:
                counts = np.bincount(self.bin_of[row], minlength=self.bins)
            else:
                counts = np.asarray(matrix @ np.bincount(row, minlength=matrix.shape[1]), dtype=np.int64)
            below = np.cumsum(counts * self.negative)
            pos = counts * self.positive
            tied = counts[self.tied] @ counts[self.tied - 1] if len(self.tied) else 0
            n = int(below[-1])
            m = len(row) - n if matrix is None else int(pos.sum())  # a drawn case is one count
            out[:, i] = 2 * int(pos @ below) - int(tied), m, n
        return out[0], out[1], out[2]

    def _torch(self, draws: NDArray[np.int32], clusters: IntArray | None,
               device: str) -> tuple[IntArray, IntArray, IntArray]:
        """All rows at once by scatter-adds in int64: exact, so the same integers as the numpy form."""
        import torch

        t = self._tensors.get(device) or self._tensors.setdefault(device, _Tensors(self, device))
        d = torch.from_numpy(np.ascontiguousarray(draws)).to(device=device, dtype=torch.int64)
        rows = d.shape[0]
        if clusters is None:
            index, weight = t.bin_of[d], torch.ones_like(d)
        else:
            c = torch.from_numpy(np.asarray(clusters, dtype=np.int64)).to(device)
            drawn = torch.zeros((rows, int(clusters.max()) + 1), dtype=torch.int64, device=device)
            drawn.scatter_add_(1, d, torch.ones_like(d))
            index, weight = t.bin_of.expand(rows, -1), drawn[:, c]
        counts = torch.zeros((rows, self.bins), dtype=torch.int64, device=device).scatter_add_(1, index, weight)
        below = torch.cumsum(counts * t.negative, dim=1)
        pos = counts * t.positive
        twice_u = 2 * (pos * below).sum(dim=1) - (counts[:, t.tied] * counts[:, t.tied - 1]).sum(dim=1)
        m = pos.sum(dim=1)
        n = below[:, -1]
        host: list[Any] = [x.cpu().numpy() for x in (twice_u, m, n)]
        return host[0], host[1], host[2]


class _Tensors:
    """A ScoreBins' arrays on one torch device, made once per device."""

    def __init__(self, bins: ScoreBins, device: str) -> None:
        import torch

        self.bin_of: torch.Tensor = torch.from_numpy(bins.bin_of.astype(np.int64)).to(device)
        self.negative = torch.from_numpy(bins.negative).to(device)
        self.positive = torch.from_numpy(bins.positive).to(device)
        self.tied = torch.from_numpy(bins.tied.astype(np.int64)).to(device)


def _kernels() -> Any:
    """The compiled loops (`qms.validation._auroc_kernels`: numba is imported here, on first use)."""
    return importlib.import_module("qms.validation._auroc_kernels")
