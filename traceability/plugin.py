"""pytest plugin of qmskit (placeholder until the traceability work lands): the marker only."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "verifies(*ids): the design items this test verifies")
