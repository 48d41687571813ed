"""A Ray the engine starts runs its workers at the caller's priority, as the local pool's workers run."""

from __future__ import annotations

import os

import pytest

from qms.compute.local import LocalEngine
from qms.compute.ray_engine import RayEngine


def _niceness(_: int) -> int:
    return os.nice(0)


@pytest.mark.xdist_group("ray")
def test_ray_workers_run_at_the_callers_priority(ray_engine: RayEngine) -> None:
    """Every Ray worker of a locally started Ray has the driver's niceness (Ray's default renices them to 15)."""
    assert set(ray_engine.map(_niceness, list(range(16)))) == {os.nice(0)}


def test_local_pool_workers_run_at_the_callers_priority() -> None:
    """The local pool's workers keep the driver's niceness: the baseline Ray's workers are held to."""
    assert set(LocalEngine(2).map(_niceness, list(range(16)))) == {os.nice(0)}
