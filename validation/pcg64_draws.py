"""The bootstrap's draws, compiled: numpy's PCG64 stream and bounded-integer method, bit for bit.

A protocol's resamples are `default_rng(child_seed).integers(0, n, (rows, n), dtype=int32)`
(`qms.validation.intervals`). numpy makes each value by a call through the bit
generator's function pointer (about 2.7 ns); here the same values come from compiled code
that numba can also fuse into a statistic's loop, so the draws need never be stored:

1. PCG64 (O'Neill 2014, numpy's `pcg64.h`): the 128-bit state steps as
   state = state * MULT + inc (mod 2**128) and each 64-bit output is the XSL-RR of the new
   state. Outputs are made in `LANES` interleaved lanes, each started by a jump-ahead
   (state_(t+k) = A_k state_t + C_k inc), so the multiplications of one step do not wait
   on the previous one; the outputs are the same sequence in the same order.
2. A 32-bit value is the low half of an output, then its high half (numpy's
   `next_uint32` keeps the high half for the next call): the uint32 view of the outputs.
3. A value below n is Lemire's (2019) bounded draw as numpy's
   `buffered_bounded_lemire_uint32` makes it: m = u * n; when the low 32 bits of m fall
   below (2**32 - n) mod n, the next u is drawn instead; the value is m >> 32.

The compiled functions are `qms.validation._pcg64_kernels` (numba imported on first use);
`tests/validation/test_pcg64_draws.py` checks every value against numpy's own.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["BLOCK", "LANES", "MASK64", "MULT", "draw", "jumps", "kernels", "stream_of"]

MULT = (2549297995355413924 << 64) | 4865540595714422341  # PCG_DEFAULT_MULTIPLIER_128
MASK64 = (1 << 64) - 1
LANES = 4
BLOCK = 512  # outputs per lane per refill: the buffer is 16 KiB, inside the L1 cache


def _jump(steps: int) -> tuple[int, int]:
    """(A, C) with state_(t+steps) = A state_t + C inc (mod 2**128)."""
    a, c = 1, 0
    for _ in range(steps):
        a, c = (a * MULT) & ((1 << 128) - 1), (c * MULT + 1) & ((1 << 128) - 1)
    return a, c


@functools.cache
def _jumps() -> NDArray[np.uint64]:
    """Lane j's jump from the block's start: (A hi, A lo, C hi, C lo) for j * BLOCK steps."""
    rows = []
    for j in range(LANES):
        a, c = _jump(j * BLOCK)
        rows.append([a >> 64, a & MASK64, c >> 64, c & MASK64])
    return np.array(rows, dtype=np.uint64)


def stream_of(seed: np.random.SeedSequence) -> tuple[NDArray[np.uint64], NDArray[np.uint32]]:
    """`default_rng(seed)` before its first draw, as (state, buffer) for the compiled `fill`.

    state: (state hi, state lo, inc hi, inc lo, the buffer's next unused value), the buffer
    empty (next unused = its length).
    """
    s = np.random.PCG64(seed).state["state"]
    size = 2 * LANES * BLOCK
    state = [s["state"] >> 64, s["state"] & MASK64, s["inc"] >> 64, s["inc"] & MASK64, size]
    return np.array(state, dtype=np.uint64), np.empty(size, dtype=np.uint32)


def kernels() -> Any:
    """The compiled functions (`qms.validation._pcg64_kernels`: numba is imported here, on first use)."""
    return importlib.import_module("qms.validation._pcg64_kernels")


def jumps() -> NDArray[np.uint64]:
    """The lanes' jump constants, for compiled loops that call `fill`."""
    return _jumps()


def draw(n: int, seed: np.random.SeedSequence, rows: int) -> NDArray[np.int32]:
    """`default_rng(seed).integers(0, n, size=(rows, n), dtype=np.int32)`, the same values (0 < n < 2**31)."""
    out = np.empty((rows, n), dtype=np.int32)
    kernels().fill(*stream_of(seed), _jumps(), n, out.reshape(-1))
    return out
