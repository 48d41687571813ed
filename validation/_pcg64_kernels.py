"""The compiled PCG64 stream and bounded draws of `qms.validation.pcg64_draws` (numba, imported only when used).

Module-level functions, so that numba's disk cache finds them again in the next process
(a closure's captured dispatchers change from process to process, and its cache then
misses and compiles again, about 5 s).

`fill(state, buffer, jumps, n, out)` writes the stream's next len(out) values below n
into out (int32) and moves the stream on, so a compiled loop can draw a block at a
time into a small array (a call per value would cost more than the value: numba counts
references of array arguments).
"""

from __future__ import annotations

import importlib
from typing import Any

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from qms.validation.pcg64_draws import BLOCK, LANES, MULT, MASK64

__all__ = ["fill"]

_ir: Any = importlib.import_module("llvmlite.ir")  # numba's own code generator, untyped
_MULT_HI, _MULT_LO = np.uint64(MULT >> 64), np.uint64(MULT & MASK64)


def _high_product(typingctx: Any, a: Any, b: Any) -> Any:
    """The high 64 bits of a 64 x 64-bit product (one machine multiply)."""
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        wide = _ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        return builder.trunc(builder.lshr(product, _ir.Constant(wide, 64)), _ir.IntType(64))
    return types.uint64(types.uint64, types.uint64), codegen


mulhi: Any = intrinsic(_high_product)


@numba.njit(cache=True, nogil=True)
def refill(state: Any, jumps: Any, buffer: Any) -> None:
    """The next LANES * BLOCK outputs into buffer (a uint32 array seen as uint64), state moved on."""
    out = buffer.view(np.uint64)
    sh = np.empty(LANES, np.uint64)
    sl = np.empty(LANES, np.uint64)
    ih, il = state[2], state[3]
    for j in range(LANES):  # lane j at the block's start + j * BLOCK: A state + C inc
        a_hi = mulhi(jumps[j, 1], state[1]) + jumps[j, 0] * state[1] + jumps[j, 1] * state[0]
        a_lo = jumps[j, 1] * state[1]
        c_hi = mulhi(jumps[j, 3], il) + jumps[j, 2] * il + jumps[j, 3] * ih
        c_lo = jumps[j, 3] * il
        sl[j] = a_lo + c_lo
        sh[j] = a_hi + c_hi + (np.uint64(1) if sl[j] < a_lo else np.uint64(0))
    for k in range(BLOCK):
        for j in range(LANES):
            lo = sl[j] * _MULT_LO
            hi = mulhi(sl[j], _MULT_LO) + sh[j] * _MULT_LO + sl[j] * _MULT_HI
            new_lo = lo + il
            hi += ih + (np.uint64(1) if new_lo < lo else np.uint64(0))
            sh[j], sl[j] = hi, new_lo
            x, rot = hi ^ new_lo, hi >> np.uint64(58)
            out[j * BLOCK + k] = (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))
    state[0], state[1] = sh[LANES - 1], sl[LANES - 1]


@numba.njit(cache=True, nogil=True)
def fill(state: Any, buffer: Any, jumps: Any, n: int, out: Any) -> None:
    """The stream's next len(out) values below n into out; state[4] is the buffer's next unused value."""
    pos: Any = np.int64(state[4])  # an int64: uint64 arithmetic with an int64 would give float64
    size, i = buffer.shape[0], 0
    bound, low32 = np.uint64(n), np.uint64(0xFFFFFFFF)
    threshold = np.uint64((4294967296 - n) % n)
    while i < out.shape[0]:
        if pos == size:
            refill(state, jumps, buffer)
            pos = 0
        # a vector pass over what the buffer holds: no value is rejected unless some low
        # half falls below n (numpy's shortcut, threshold < n: about n / 2**32 of them)
        run = min(out.shape[0] - i, size - pos)
        least = low32
        source, target = buffer[pos:pos + run], out[i:i + run]
        for k in range(run):
            m = np.uint64(source[k]) * bound
            target[k] = np.int32(m >> np.uint64(32))
            least = min(least, m & low32)
        if least >= bound:
            i, pos = i + run, pos + run
            continue
        while (np.uint64(buffer[pos]) * bound) & low32 >= bound:  # the values before it stand
            i, pos = i + 1, pos + 1
        m = np.uint64(buffer[pos]) * bound
        pos += 1
        while m & low32 < threshold:  # rejected: the next value instead
            if pos == size:
                refill(state, jumps, buffer)
                pos = 0
            m = np.uint64(buffer[pos]) * bound
            pos += 1
        out[i] = np.int32(m >> np.uint64(32))
        i += 1
    state[4] = np.uint64(pos)
