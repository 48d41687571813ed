"""Fixtures for report-text de-identification: a fixed synthetic key and a de-identifier."""

from __future__ import annotations

import pytest

from qms.deid.keying import DeidKey
from qms.deid.text import Deidentifier


@pytest.fixture(scope="session")
def key() -> DeidKey:
    return DeidKey(bytes(range(32)))


@pytest.fixture(scope="session")
def deid(key: DeidKey) -> Deidentifier:
    return Deidentifier(key)
