"""One released model shared by the API tests that do not change the registry (building bundles is slow)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.service import Released, release


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Released:
    return release(tmp_path_factory.mktemp("released"))


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """The session's local Ray (2 CPUs, `tests/compute/conftest.py`) when it already runs, else the same one started
    for this module and shut down after it; Ray Serve is shut down either way."""
    import ray
    from ray import serve

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        serve.shutdown()
        if started:
            ray.shutdown()
