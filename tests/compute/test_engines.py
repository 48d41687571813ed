"""The engines: every item once, whichever engine; settings refused with their place named."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qms.compute.engine import blocks
from qms.compute.local import LocalEngine
from qms.compute.ray_engine import RayEngine
from qms.compute.settings import ComputeSettings, EngineKind, open_engine
from qms.errors import QmsError


def _square(x: int) -> int:
    return x * x


class _Summer:
    """A stateful stage: counts how often it was built (once per actor)."""

    def __init__(self) -> None:
        self.offset = 1000

    def __call__(self, batch: list[int]) -> int:
        return self.offset + sum(batch)


def test_blocks_cover_every_item_once() -> None:
    """Blocks hold every item once, in order, none empty and none over the cap."""
    items = list(range(1001))
    cut = list(blocks(items, 2, most=64))
    assert [x for b in cut for x in b] == items
    assert all(0 < len(b) <= 64 for b in cut)


class _Counted:
    """A stream of items that counts how many were read from it."""

    def __init__(self, count: int) -> None:
        self.count, self.read = count, 0

    def __iter__(self) -> Iterator[int]:
        for i in range(self.count):
            self.read += 1
            yield i


@given(count=st.integers(0, 3000), workers=st.integers(1, 4), most=st.integers(1, 80), least=st.integers(1, 40))
def test_blocks_of_a_stream_are_those_of_the_list(count: int, workers: int, most: int, least: int) -> None:
    """A stream is cut into the very blocks of the same items as a list, read ahead by per_worker x workers x
    `most` items (and one block) at most: a stream is never held whole."""
    stream = _Counted(count)
    cut = blocks(stream, workers, most=most, least=least)
    first = next(cut, None)
    assert stream.read <= 4 * workers * most + max(most, least)
    assert ([] if first is None else [first]) + list(cut) == list(blocks(list(range(count)), workers, most=most,
                                                                          least=least)) or count == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_local_engine_maps_a_stream_every_item_once(workers: int) -> None:
    """Given a stream (a generator), the local engine, in process and as a pool, returns f(item) for every item
    once."""
    assert sorted(LocalEngine(workers).map(_square, iter(_Counted(2000)))) == [x * x for x in range(2000)]


def test_local_engine_reads_a_stream_ahead_by_a_bound() -> None:
    """Given a long stream, the pool has read the look-ahead that sizes its chunks (8 chunks of 64 a worker) and
    nothing past it when its first result comes back: the chunks out at once are bounded, and every item comes back."""
    stream = _Counted(50_000)
    results = LocalEngine(2).map(_square, stream)
    first = next(results)
    assert stream.read <= 2 * 8 * 64
    assert sorted([first, *results]) == [x * x for x in range(50_000)]


@pytest.mark.xdist_group("ray")
def test_ray_engine_reads_a_stream_ahead_by_a_bound(ray_engine: RayEngine) -> None:
    """Given a stream, the Ray engine returns f(item) for every item once, and has read at most the blocks in
    flight and the look-ahead when its first result comes back."""
    stream = _Counted(20_000)
    results = ray_engine.map(_square, stream)
    first = next(results)
    assert stream.read <= 4 * 2 * 256 + 2 * 2 * 256
    assert sorted([first, *results]) == [x * x for x in range(20_000)]


@pytest.mark.parametrize("workers", [1, 2])
def test_local_engine_maps_every_item_once(workers: int) -> None:
    """The local engine, in process and as a pool, returns f(item) for every item exactly once."""
    assert sorted(LocalEngine(workers).map(_square, list(range(200)))) == [x * x for x in range(200)]


@pytest.mark.xdist_group("ray")
def test_ray_engine_maps_every_item_once(ray_engine: RayEngine) -> None:
    """The Ray engine returns f(item) for every item exactly once, over many blocks."""
    assert sorted(ray_engine.map(_square, list(range(3000)))) == [x * x for x in range(3000)]
    assert sorted(ray_engine.map(math.isqrt, [])) == []


@pytest.mark.xdist_group("ray")
def test_ray_pool_runs_each_batch_once_on_built_workers(ray_engine: RayEngine) -> None:
    """The Ray actor pool runs every batch once through a worker the factory built, like the local one."""
    batches = [[i, i + 1] for i in range(0, 40, 2)]
    assert sorted(ray_engine.pool(_Summer, batches)) == sorted(LocalEngine().pool(_Summer, batches))


@pytest.mark.xdist_group("ray")
def test_ray_cluster_describes_nodes_cpus_and_versions(ray_engine: RayEngine) -> None:
    """The Ray engine states its nodes, CPUs, GPUs and Ray version for a run's environment section."""
    import ray

    info = ray_engine.cluster()
    assert info["engine"] == "ray" and info["nodes"] == 1 and info["cpus"] == 2
    assert info["gpus"] == 0 and info["ray"] == ray.__version__


def test_settings_default_to_the_local_engine() -> None:
    """With no [tool.qms.compute] table the engine is local and opens without Ray."""
    settings = ComputeSettings.from_config({})
    assert settings.engine is EngineKind.LOCAL
    assert open_engine(settings, 3) == LocalEngine(3)


def test_engine_option_overrides_the_configured_engine() -> None:
    """`--engine` wins over the table's engine; the address is kept."""
    settings = ComputeSettings.from_config({"engine": "local", "address": "ray://head:10001"}, "ray")
    assert settings == ComputeSettings(EngineKind.RAY, "ray://head:10001")


@pytest.mark.parametrize(("table", "option", "where"), [
    ({"engine": "spark"}, None, "[tool.qms.compute] engine"),
    ({}, "dask", "--engine"),
    ({"address": "head:6379"}, None, "[tool.qms.compute] address"),
    ({"engines": "ray"}, None, "[tool.qms.compute]"),
])
def test_bad_settings_are_refused_with_their_place(table: dict[str, str], option: str | None, where: str) -> None:
    """An unknown engine, a malformed address or an unknown key is refused, naming where it was set."""
    with pytest.raises(QmsError) as caught:
        ComputeSettings.from_config(table, option)
    assert caught.value.where == where


def test_blocks_shrink_towards_the_end() -> None:
    """Blocks are largest first and end small, so no worker runs a whole large block alone at the end."""
    sizes = [len(b) for b in blocks(list(range(20_000)), 2, most=256, least=32)]
    assert sizes[0] == 256 and sizes == sorted(sizes, reverse=True)
    assert max(sizes[-4:]) <= 32


def _has_colorsys(_: int) -> bool:
    import sys

    return "colorsys" in sys.modules


@pytest.mark.xdist_group("ray")
def test_ray_engine_preloads_modules_in_its_workers(ray_engine: RayEngine) -> None:
    """`preload` modules are imported in the workers before the engine is returned (colorsys: imported by no one)."""
    assert True in set(RayEngine(preload=("colorsys",)).map(_has_colorsys, list(range(8))))
