"""`qms deid verify` scans every output with the PHI detectors, whatever the source's header held (issue 19, item 3)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.residual_text import TEXT_PHI
from qms.deid.verify import VerifyReport, verify
from qms.findings import Finding
from tests.deid.phi_dicom import (COMMENTS, HISTORY, PHI, SR_TEXT, phi_ct, phi_sr, safe_private_options,
                                  text_path)

pytestmark = pytest.mark.verifies("QMS-RC-003")

KEY = DeidKey(b"verify-scan-test-key-of-32-bytes")
_COMMENTS, _HISTORY = "(0010,4000)", "(0010,21B0)"
# Every leak kind of issue 19, at its tag path: (where, PHI type).
_HEADER_LEAKS = {(_COMMENTS, "SSN"), (_COMMENTS, "NAME"), (_HISTORY, "ADDRESS"), (_HISTORY, "AGE")}
_SR_LEAKS = {(text_path(3), kind) for kind in ("NAME", "MRN", "INSTITUTION", "PHONE", "DATE")}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CT with PHI in every free-text element and burned-in text, and an SR with PHI three levels deep."""
    root = tmp_path_factory.mktemp("verify-scan") / "in"
    root.mkdir()
    phi_ct(burned=True).save_as(root / "ct.dcm", enforce_file_format=True)
    phi_sr(depth=3).save_as(root / "sr.dcm", enforce_file_format=True)
    return root


def _kinds(report: VerifyReport) -> set[tuple[str | None, str]]:
    """(where, PHI type) of the text detector's findings."""
    return {(f.where, f.reason.split()[0]) for f in report.leaks if f.check == TEXT_PHI}


def _pixel_findings(report: VerifyReport) -> list[Finding]:
    return [f for f in report.leaks if f.check == "pixel-text"]


def _old_clean(value: str, ds: Dataset) -> str:
    """`clean_text` of qms before issue 19: the file's own header values, date-like strings and numbers of five
    digits or more replaced by [REMOVED], nothing else."""
    own = [str(ds.PatientID), str(ds.AccessionNumber), *str(ds.PatientName).split("^")]
    for token in sorted({t for t in own if len(t) >= 3}, key=len, reverse=True):
        value = re.sub(re.escape(token), "[REMOVED]", value, flags=re.IGNORECASE)
    dates = r"\b(\d{4}[-/.]?\d{2}[-/.]?\d{2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\b"
    return re.sub(r"\d{5,}", "[REMOVED]", re.sub(dates, "[REMOVED]", value))


def test_verify_finds_every_leak_kind_in_an_unchanged_copy(source: Path, tmp_path: Path) -> None:
    """On an unchanged copy verify reports the SSN and family doctor in PatientComments, the street, age and city
    in AdditionalPatientHistory, the name, MRN, hospital, phone and prior date in an SR TextValue three levels
    deep, and the burned-in text of an unflagged CT, each with file, tag path and PHI type."""
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    report = verify(copy, source)
    found = _kinds(report)
    assert _HEADER_LEAKS | {(_HISTORY, "CITY")} <= found
    assert _SR_LEAKS <= found
    assert {f.item for f in report.leaks if (f.where, f.reason.split()[0]) in _SR_LEAKS} == {"sr.dcm"}
    pixel = _pixel_findings(report)
    assert pixel and {f.item for f in pixel} == {"ct.dcm"} and all(str(f.where).startswith("(7FE0,0010)")
                                                                    for f in pixel)


def test_verify_findings_never_hold_a_value(source: Path, tmp_path: Path) -> None:
    """No finding of verify, as JSON, holds any planted value: file, tag path and PHI type only."""
    copy = tmp_path / "copy"
    shutil.copytree(source, copy)
    dumped = json.dumps(verify(copy, source).to_json()).upper()
    assert [value for value in PHI if value.upper() in dumped] == []


def test_verify_finds_nothing_in_the_output_of_qms(source: Path, tmp_path: Path) -> None:
    """The output of `qms deid dicom` on the same files holds nothing verify reports: no source value, no
    identifier found by the detector (surrogates are not the source's values), no text in the pixels."""
    out = tmp_path / "out"
    batch = run_batch(source, out, KEY, safe_private_options())
    assert batch.processed == 2 and not batch.quarantined
    report = verify(out, source)
    assert report.files_checked == 2 and [f.text() for f in report.leaks] == []


def test_verify_finds_the_leaks_of_the_old_cleaning(source: Path, tmp_path: Path) -> None:
    """On what qms wrote before issue 19 (header values, dates and long numbers cleaned out of descriptors, SR
    TextValue kept, unflagged pixels not searched) verify reports every leak kind the issue lists."""
    out, old = tmp_path / "out", tmp_path / "old"
    run_batch(source, out, KEY, safe_private_options())
    old.mkdir()
    ct, ct_source = dcmread(out / "ct.dcm"), dcmread(source / "ct.dcm")
    ct.PatientComments, ct.AdditionalPatientHistory = _old_clean(COMMENTS, ct_source), _old_clean(HISTORY, ct_source)
    ct.PixelData = ct_source.PixelData
    ct.save_as(old / "ct.dcm")
    sr = dcmread(out / "sr.dcm")
    item = sr
    for _ in range(3):
        item = item.ContentSequence[0]
    item.ContentSequence[1].TextValue = SR_TEXT
    sr.save_as(old / "sr.dcm")
    report = verify(old, source)
    assert _HEADER_LEAKS | _SR_LEAKS <= _kinds(report)
    assert _pixel_findings(report)


def test_what_an_option_retains_on_purpose_is_not_a_finding(tree: Path, tmp_path: Path) -> None:
    """Under Retain Device and Institution Identity the kept StationName and InstitutionName are no text finding."""
    options = DeidOptions.from_config({}, ["retain_device_identity", "retain_institution_identity"])
    run_batch(tree, tmp_path / "out", KEY, options)
    kept = dcmread(next((tmp_path / "out").rglob("*.dcm")))
    assert "Memorial Hospital" in str(kept.InstitutionName)
    report = verify(tmp_path / "out", tree)
    assert [f.text() for f in report.leaks if f.check == TEXT_PHI] == []
