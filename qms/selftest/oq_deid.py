"""OQ: de-identify bundled synthetic DICOM and a report text, then look for what was planted (QMS-REQ-004/005).

The images come from the shared synthetic builder (qms.synthetic_dicom) with made-up
patient values; after the batch, `qms deid verify`'s search must find nothing, and neither
the planted values nor the source UIDs may be left in any output byte. The report text
carries a made-up name, record number and date that must not survive word for word.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np

from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.text.deidentify import Deidentifier
from qms.deid.text.hints import Hints
from qms.deid.verify import verify
from qms.findings import Finding
from qms.selftest.checks import Evidence
from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image

__all__ = ["PLANTED_PATIENT", "check_deid_dicom", "check_deid_text"]

PLANTED_PATIENT = SyntheticPatient("STQ-4417-0093", name="PLANTEDSURNAME^QUALIFIA", birth_date="19470312", sex="F",
                                   age="079Y")
_PLANTED_ATTRIBUTES = {"AccessionNumber": "ACCQ77120", "InstitutionName": "Selftest Memorial Infirmary",
                       "ReferringPhysicianName": "REFERRINGTON^OQ", "StudyDate": "20240517"}
_IMAGES = 3
_REPORT = ("CHEST RADIOGRAPH. Patient: Qualifia Plantedsurname, MRN STQ-4417-0093, DOB 03/12/1947. "
           "Exam date 05/17/2024, referred by Dr. Oq Referrington. Findings: small right apical pneumothorax. "
           "Impression: right pneumothorax, no mediastinal shift.")
_REPORT_PLANTED = ("Plantedsurname", "Qualifia", "STQ-4417-0093", "03/12/1947", "05/17/2024", "Referrington")
_REPORT_KEPT = ("pneumothorax", "mediastinal shift")


def _write_images(folder: Path) -> list[str]:
    """Synthetic images with the planted values; returns their source UIDs (which must not survive)."""
    folder.mkdir(parents=True)
    uids: list[str] = []
    for n in range(_IMAGES):
        ids = SyntheticUids.seeded("qms-selftest", n)
        pixels = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 4096
        ds = synthetic_image(pixels, uids=ids, patient=PLANTED_PATIENT, attributes=_PLANTED_ATTRIBUTES)
        ds.save_as(folder / f"image{n}.dcm", enforce_file_format=True)
        uids += [u for u in (ids.sop_instance, ids.study, ids.series) if u]
    return uids


def check_deid_dicom(check: str, workspace: Path) -> tuple[list[Finding], Evidence]:
    source, out = workspace / "in", workspace / "out"
    uids = _write_images(source)
    batch = run_batch(source, out, DeidKey(secrets.token_bytes(32)), DeidOptions())
    findings: list[Finding] = []
    if batch.processed != _IMAGES or batch.quarantined:
        findings.append(Finding(check, "batch", f"{batch.processed} of {_IMAGES} synthetic images de-identified, "
                                                f"{len(batch.quarantined)} quarantined"))
    report = verify(out, source)
    findings += [Finding(check, leak.item, f"verify: {leak.reason}", leak.hint, leak.where) for leak in report.leaks]
    planted = [v.encode() for v in (PLANTED_PATIENT.patient_id, "PLANTEDSURNAME", "19470312", *uids,
                                    *(str(v) for v in _PLANTED_ATTRIBUTES.values()))]
    outputs = sorted(p for p in out.rglob("*.dcm"))
    for path in outputs:
        data = path.read_bytes()
        findings += [Finding(check, path.name, "a planted identifying value is left in the output bytes",
                             "de-identification is not working in this environment: do not use it",
                             where=str(path.relative_to(out))) for value in planted if value in data]
    return findings, {"images": str(_IMAGES), "outputs": str(len(outputs)), "verified files": str(report.files_checked)}


def check_deid_text(check: str, workspace: Path) -> tuple[list[Finding], Evidence]:
    result = Deidentifier(DeidKey(secrets.token_bytes(32))).deidentify(
        _REPORT, PLANTED_PATIENT.patient_id, Hints(names=(PLANTED_PATIENT.name or "",), birth_date="19470312"))
    findings = [Finding(check, "report", f"planted identifier #{n} is left word for word in the report text",
                        "report de-identification is not working in this environment: do not use it")
                for n, value in enumerate(_REPORT_PLANTED, 1) if value.lower() in result.text.lower()]
    findings += [Finding(check, "report", f"clinical content {term!r} was removed from the report text")
                 for term in _REPORT_KEPT if term not in result.text]
    return findings, {"identifiers replaced": str(sum(result.counts.values()))}
