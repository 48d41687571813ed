"""Fixtures of the DICOM de-identification tests: a key, engines, synthetic datasets.

All data here is synthetic (qms.deid.synthetic, or built in the test); pydicom's own test
files come from the installed package (pydicom.data), never from a download.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from qms.deid.dataset import Deidentifier
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.synthetic import synthetic_ct, write_synthetic_tree


@pytest.fixture
def key() -> DeidKey:
    return DeidKey(bytes(range(32)))


@pytest.fixture
def engine(key: DeidKey) -> Deidentifier:
    return Deidentifier(key, DeidOptions())


@pytest.fixture
def ct() -> Dataset:
    ds: Dataset = synthetic_ct(random.Random(1), patient=7, study=1, instance=3)
    return ds


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    write_synthetic_tree(root, 12, patients=3)
    return root


EngineWith = Callable[..., Deidentifier]


@pytest.fixture
def engine_with(key: DeidKey) -> EngineWith:
    """An engine with the default options changed by `--option`-style arguments."""
    def make(*cli_options: str) -> Deidentifier:
        return Deidentifier(key, DeidOptions.from_config({}, cli_options))
    return make


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An initialised device project (its own store), for the commands that record audit events."""
    from typer.testing import CliRunner

    from qms.cli.main import app

    root = tmp_path / "device"
    result = CliRunner().invoke(app, ["-C", str(root), "init", "--device", "Triage"])
    assert result.exit_code == 0, result.output
    return root
