"""One local Ray (2 CPUs) for the whole session; Ray tests carry `pytest.mark.xdist_group("ray")`.

Under `-n 2 --dist loadgroup` the group runs in one xdist worker, so one Ray instance serves
every Ray test and the suite pays Ray's start-up once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from qms.compute.ray_engine import RayEngine


@pytest.fixture(scope="session")
def ray_engine() -> Iterator[RayEngine]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield RayEngine()
    finally:
        ray.shutdown()
