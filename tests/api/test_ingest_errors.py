"""Malformed requests get a 4xx naming the problem, never a traceback."""

from __future__ import annotations

import json

import pytest
from pydicom.dataset import Dataset
from sqlmodel import select

from qms.api.tokens import create_client
from qms.store.records import AuditEvent
from tests.api.service import Released, dicom_bytes, multipart, serving
from tests.models.helpers import dicom


def _no_pixels() -> bytes:
    ds = dicom()
    del ds.PixelData
    return dicom_bytes(ds)


def _modality(value: str) -> Dataset:
    ds = dicom()
    ds.Modality = value
    return ds


CASES = [
    ("junk", "application/dicom", b"this is not dicom" * 10, 400, "not a DICOM file"),
    ("truncated header", "application/dicom", dicom_bytes()[:200], 400, "cut off before it"),
    ("truncated pixels", "application/dicom", dicom_bytes()[:-100], 400, "the file is truncated"),
    ("no pixels", "application/dicom", _no_pixels(), 400, "no Pixel Data"),
    ("wrong modality", "application/dicom", dicom_bytes(_modality("MR")), 422, "Modality 'MR'"),
    ("wrong type", "text/plain", dicom_bytes(), 415, "text/plain is not accepted"),
    ("wrong multipart type", 'multipart/related; type="application/json"; boundary=b', b"--b--", 415, "only type="),
    ("empty multipart", 'multipart/related; type="application/dicom"; boundary=b', b"", 400, "no parts"),
]


@pytest.mark.parametrize(("case", "content_type", "body", "status", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_malformed_input_is_a_named_4xx(released: Released, case: str, content_type: str, body: bytes, status: int,
                                        phrase: str) -> None:
    """Each malformed upload is answered with its 4xx status and a message naming what is wrong, no traceback."""
    token = create_client(released.store, "sender", ["tiny"], actor="admin")
    with serving(released) as server:
        got, problem = server.infer(token, body, content_type)
    assert got == status, problem
    assert phrase in str(problem["error"]) and "Traceback" not in str(problem)


def test_bad_part_of_a_study_is_named_and_audited(released: Released) -> None:
    """In a STOW-RS study, the part that is not DICOM is named by its position, and the refusal is audited."""
    token = create_client(released.store, "study-sender", ["tiny"], actor="admin")
    content_type, body = multipart([dicom_bytes(), b"garbage" * 30])
    with serving(released) as server:
        status, problem = server.infer(token, body, content_type)
    assert status == 400 and problem["where"] == "part 2"
    with released.store.reader() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "api.request.refuse")).all()
    assert {"status": 400, "reason": problem["error"], "client": "study-sender"} in [json.loads(e.details) for e in events]
