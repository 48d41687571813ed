"""One local Ray (2 CPUs) for the whole session; Ray tests carry `pytest.mark.xdist_group("ray")`.

Under `-n 2 --dist loadgroup` the group runs in one xdist worker, so one Ray instance serves
every Ray test and the suite pays Ray's start-up once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qms.compute.ray_engine import RayEngine, start_local


@pytest.fixture(scope="session")
def ray_engine() -> Iterator[RayEngine]:
    import ray

    start_local(2)
    try:
        yield RayEngine()
    finally:
        ray.shutdown()
