"""The example's synthetic dataset generator is deterministic, splits by patient and keeps PHI out of the labels."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pydicom
import pytest

from qms.hashing import sha256_file

GENERATOR = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage" / "generate.py"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cxr_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def test_generator_is_seeded_and_splits_by_patient(generator: ModuleType, tmp_path: Path) -> None:
    """The same seed writes byte-identical files; no patient has images in both splits; labels hold no identifiers."""
    count = generator.generate(tmp_path / "a", patients=12, seed=5, size=32)
    generator.generate(tmp_path / "b", patients=12, seed=5, size=32)
    rows = list(csv.DictReader((tmp_path / "a" / "labels.csv").open(encoding="utf-8")))
    assert len(rows) == count and list(rows[0]) == ["file", "split", *generator.FINDINGS, "site",
                             *(f"{f}@{r}" for f in generator.FINDINGS for r in generator.READERS), "exclusion"]
    for row in rows:
        assert sha256_file(tmp_path / "a" / row["file"]) == sha256_file(tmp_path / "b" / row["file"])
    splits: dict[str, set[str]] = {}
    names = set()
    for row in rows:
        ds = pydicom.dcmread(tmp_path / "a" / row["file"])
        splits.setdefault(str(ds.PatientID), set()).add(row["split"])
        names |= {str(ds.PatientName), str(ds.PatientID), str(ds.AccessionNumber)}
        assert row["file"].startswith(row["split"] + "/") and ds.PatientSex in ("F", "M") and ds.Manufacturer
    assert all(len(s) == 1 for s in splits.values())
    table = (tmp_path / "a" / "labels.csv").read_text(encoding="utf-8")
    assert not any(n in table for n in names)
