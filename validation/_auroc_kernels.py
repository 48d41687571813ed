"""The compiled per-resample loops of `qms.validation.resampled_auroc` (numba, imported only when used).

Module-level functions, so that numba's disk cache finds them again in the next process.

A row's draws are counted per cluster in uint8 (100 KB for 100,000 clusters: the
counting stays in the L2 cache); a count that wraps past 255 sends the row to int32
counts instead, so every count is exact. The walk over the cases in score order then
reads each case's count through its cluster: with negatives first within a score,

    2U = sum over positive cases i of w_i (2 B_i - T_i),

B_i the drawn negatives scored at most s_i, T_i those scored s_i: the same 2U as the
bins' running sum (`resampled_auroc`'s docstring), without a gather per draw. The running sums are
int64; weights and counts are exact integers, so the result does not depend on the order
of the additions.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from qms.validation._pcg64_kernels import fill

__all__ = ["drawn", "seeded"]


@numba.njit(cache=True, nogil=True)
def count8(row: Any, counts: Any) -> bool:
    counts[:] = 0
    wrapped = False
    for k in row:
        c = np.uint8(counts[k] + 1)  # numba widens uint8 arithmetic to int64: wrap it here
        counts[k] = c
        wrapped |= c == 0
    return wrapped


@numba.njit(cache=True, nogil=True)
def count32(row: Any, counts: Any) -> None:
    counts[:] = 0
    for k in row:
        counts[k] += 1


@numba.njit(cache=True, nogil=True)
def walk(counts: Any, key: Any, flags: Any, out: Any, i: int) -> None:
    # 2 B_i - T_i = B_i + (the negatives below s_i's score): `base`, kept as each new score starts
    below = base = twice = m = 0
    for j in range(key.shape[0]):
        w = int(counts[key[j]])
        f = flags[j]
        base = below if f & 2 else base
        p = w if f & 1 else 0
        below += w - p
        twice += p * (below + base)
        m += p
    out[0, i], out[1, i], out[2, i] = twice, m, below


@numba.njit(cache=True, nogil=True)
def row_stats(row: Any, key: Any, flags: Any, small: Any, wide: Any, out: Any, i: int) -> None:
    if count8(row, small):
        count32(row, wide)
        walk(wide, key, flags, out, i)
    else:
        walk(small, key, flags, out, i)


@numba.njit(cache=True, nogil=True)
def drawn(draws: Any, key: Any, flags: Any) -> Any:
    out = np.empty((3, draws.shape[0]), dtype=np.int64)
    small = np.empty(draws.shape[1], dtype=np.uint8)
    wide = np.empty(draws.shape[1], dtype=np.int32)
    for i in range(draws.shape[0]):
        row_stats(draws[i], key, flags, small, wide, out, i)
    return out


@numba.njit(cache=True, nogil=True)
def seeded(state: Any, buffer: Any, jumps: Any, rows: int, n: int, key: Any, flags: Any) -> Any:
    out = np.empty((3, rows), dtype=np.int64)
    row = np.empty(n, dtype=np.int32)  # 400 KB for 100,000 clusters: written and read in the L2 cache
    small = np.empty(n, dtype=np.uint8)
    wide = np.empty(n, dtype=np.int32)
    for i in range(rows):
        fill(state, buffer, jumps, n, row)
        row_stats(row, key, flags, small, wide, out, i)
    return out
