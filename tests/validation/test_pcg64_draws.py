"""The compiled bootstrap draws: numpy's own values for every bound, however the stream is cut into blocks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.validation import pcg64_draws
from qms.validation.intervals import resample_draws

# bounds where numpy's rejection step is rare (n / 2**32), frequent (1,610,612,743: about 30 % of draws) or void
BOUNDS = st.one_of(st.integers(1, 5000), st.sampled_from([100_000, 2**31 - 5, 2**31 - 1, 2**31, 1_610_612_743]),
                   st.integers(1, 2**31))


@settings(max_examples=60, deadline=None)
@given(n=BOUNDS, seed=st.integers(0, 2**32 - 1), count=st.integers(1, 20_000))
def test_values_equal_numpys_integers_for_any_bound(n: int, seed: int, count: int) -> None:
    """The compiled stream gives the values of numpy's Generator.integers(0, n, dtype=int32) for the same seed."""
    child = np.random.SeedSequence(seed)
    out = np.empty(count, dtype=np.int32)
    pcg64_draws.kernels().fill(*pcg64_draws.stream_of(child), pcg64_draws.jumps(), n, out)
    assert np.array_equal(out, np.random.default_rng(child).integers(0, n, size=count, dtype=np.int32))


@settings(max_examples=30, deadline=None)
@given(n=BOUNDS, seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 9000), min_size=1, max_size=6))
def test_blocks_continue_one_stream(n: int, seed: int, cuts: list[int]) -> None:
    """Drawing in blocks of any sizes (empty ones included) continues one stream: a compiled loop may draw a block at a time."""
    child = np.random.SeedSequence(seed)
    state, buffer = pcg64_draws.stream_of(child)
    parts = []
    for size in cuts:
        part = np.empty(size, dtype=np.int32)
        pcg64_draws.kernels().fill(state, buffer, pcg64_draws.jumps(), n, part)
        parts.append(part)
    assert np.array_equal(np.concatenate(parts), np.random.default_rng(child).integers(0, n, sum(cuts), dtype=np.int32))


@pytest.mark.parametrize(("n", "resamples", "rows"), [(100_000, 200, [80, 80, 40]), (1000, 300, [300])])
def test_a_protocols_resamples_are_numpys(n: int, resamples: int, rows: list[int]) -> None:
    """A protocol's resample draws, chunk by chunk, are numpy's draws from each chunk's child seed, compiled or not."""
    seed = 3
    children = np.random.SeedSequence(seed).spawn(len(rows))  # 80 rows a chunk at 100,000 clusters (compiled)
    got = list(resample_draws(n, resamples, seed))
    assert [len(d) for d in got] == rows
    for draws, child in zip(got, children, strict=True):
        assert np.array_equal(draws, np.random.default_rng(child).integers(0, n, size=draws.shape, dtype=np.int32))
