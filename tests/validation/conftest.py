"""Fixtures of the validation tests: synthetic datasets (see synthetic.py for provenance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.validation.synthetic import DatasetMaker, make_dataset


@pytest.fixture
def dataset_maker(tmp_path: Path) -> DatasetMaker:
    def make(n_patients: int = 12, **kw: object) -> tuple[Path, Path]:
        return make_dataset(tmp_path, n_patients, **kw)  # type: ignore[arg-type]
    return make
