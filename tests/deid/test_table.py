"""The committed action table is PS3.15 Table E.1-1 as generated from the reference extraction."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from qms.deid import _annex_e
from qms.deid.profile import Action, ActionTable, ProfileOption

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference" / "dicom" / "ps3.15-annex-e-confidentiality-profile.json"


def test_committed_table_matches_the_generator() -> None:
    """scripts/gen_deid_table.py regenerates deid/_annex_e.py byte for byte from the reference JSON."""
    if not REFERENCE.is_file():
        pytest.skip(f"the reference extraction is not here: {REFERENCE}")
    spec = importlib.util.spec_from_file_location("gen_deid_table", ROOT / "scripts" / "gen_deid_table.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate(REFERENCE) == (ROOT / "deid" / "_annex_e.py").read_text(encoding="utf-8")


def test_table_rows_are_the_standards() -> None:
    """Known rows: Patient's Name Z, Patient ID Z/D, SOP Instance UID U, Patient's Sex K under its option."""
    table = ActionTable(())
    assert table.exact[0x00100010].action is Action.Z
    assert table.exact[0x00100020].action is Action.Z_D
    assert table.exact[0x00080018].action is Action.U
    assert table.exact[0x00081140].action is Action.X_Z_U
    kept = ActionTable([ProfileOption.RETAIN_PATIENT_CHARACTERISTICS])
    assert kept.exact[0x00100040].action is Action.K
    assert len(_annex_e.ROWS) > 600 and "January 2025" in _annex_e.EDITION


def test_clean_wins_over_keep_when_two_options_apply() -> None:
    """Calibration DateTime under Retain Device Identity (K) and Modified Dates (C) is cleaned (shifted)."""
    table = ActionTable([ProfileOption.RETAIN_DEVICE_IDENTITY, ProfileOption.RETAIN_LONG_MODIFIED_DATES])
    assert table.exact[0x00181203].action is Action.C
