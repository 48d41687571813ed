"""One released model shared by the API tests that do not change the registry (building bundles is slow)."""

from __future__ import annotations

import pytest

from tests.api.service import Released, release


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Released:
    return release(tmp_path_factory.mktemp("released"))
