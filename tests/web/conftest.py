"""A served example project per test (copied from one built per session), a settable clock and an HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from qms.web import create_app
from tests.web.site import Clock, Site, build_releasable_site, build_site


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_site(tmp_path_factory.mktemp("web-site"))


@pytest.fixture
def site(built_site: Site, tmp_path: Path) -> Site:
    return built_site.copy(tmp_path / "site")


@pytest.fixture(scope="session")
def built_releasable_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return build_releasable_site(tmp_path_factory.mktemp("web-releasable"))


@pytest.fixture
def releasable_site(built_releasable_site: Site, tmp_path: Path) -> Site:
    """A site whose release the approver's signature completes (model staged, the plan's protocol locked)."""
    return built_releasable_site.copy(tmp_path / "site")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(site: Site, clock: Clock) -> Iterator[TestClient]:
    app = create_app(site.settings(clock))
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as c:
        yield c
    app.state.qms.store.dispose()
