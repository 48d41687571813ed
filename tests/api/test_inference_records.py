"""Every answered inference is recorded (request id, model, input digest, pseudonyms, output, latency), none lost."""

from __future__ import annotations

import hashlib
import http.client
import json
import time
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from sqlmodel import select

from qms.api.app import ApiSettings
from qms.api.records import InferenceRecord
from qms.api.tokens import create_client
from qms.deid.keying import DeidKey
from qms.models import registry
from qms.models.inference import predict
from tests.api.service import NAME, Released, Server, dicom_bytes, multipart, serving
from tests.models.helpers import dicom


def _records(released: Released) -> dict[str, InferenceRecord]:
    with released.store.reader() as session:
        return {r.request_id: r for r in session.exec(select(InferenceRecord)).all()}


def _all_request_ids(released: Released) -> list[str]:
    with released.store.reader() as session:
        return list(session.exec(select(InferenceRecord.request_id)).all())


def test_concurrent_clients_lose_no_record(released: Released) -> None:
    """Six clients sending at once, through two inference slots: every answer is 200 and recorded exactly once."""
    tokens = [create_client(released.store, f"site-{i}", [NAME], actor="admin") for i in range(6)]
    before = _all_request_ids(released)
    with serving(released, ApiSettings(concurrency=2)) as server, ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda t: [server.infer(t, dicom_bytes()) for _ in range(4)], tokens))
    flat = [a for per_client in answers for a in per_client]
    assert [status for status, _ in flat] == [200] * 24
    after = _all_request_ids(released)
    new = set(after) - set(before)
    assert len(after) - len(before) == 24 and new == {body["request_id"] for _, body in flat}
    assert {r.client for k, r in _records(released).items() if k in new} == {f"site-{i}" for i in range(6)}


def _until_refused(server: Server, token: str, body: bytes) -> list[tuple[int, dict[str, Any]]]:
    """Requests one after another until the server no longer takes connections."""
    out: list[tuple[int, dict[str, Any]]] = []
    while len(out) < 500:
        try:
            out.append(server.infer(token, body))
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
            return out
    return out


def test_a_graceful_stop_mid_load_loses_no_answered_record(released: Released) -> None:
    """Stopped gracefully while five clients are sending, the service has recorded every inference it answered 200,
    each once, and nothing it did not answer."""
    tokens = [create_client(released.store, f"stop-{i}", [NAME], actor="admin") for i in range(5)]
    before = _all_request_ids(released)
    body = dicom_bytes()
    with serving(released, ApiSettings(concurrency=2, rate=1e6, burst=10**6)) as server, ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(_until_refused, server, token, body) for token in tokens]
        while len(_all_request_ids(released)) < len(before) + 10:
            time.sleep(0.01)
        server.stop()
        answers = [a for f in futures for a in f.result()]
    answered = [b["request_id"] for status, b in answers if status == 200]
    assert len(answered) >= 10 and {status for status, _ in answers} <= {200, 503}
    after = _all_request_ids(released)
    assert len(after) - len(before) == len(answered) and set(after) - set(before) == set(answered)


def test_a_study_is_scored_as_validation_scores_its_files(released: Released, tmp_path: Path) -> None:
    """A STOW-RS study of three instances gets the scores in-process inference gives the same files, and its record
    holds the input digest, the model digest and the output."""
    parts = [dicom_bytes(dicom(np.full((32, 24), v, dtype=np.uint16))) for v in (100, 2000, 4000)]
    files = []
    for i, data in enumerate(parts):
        files.append(tmp_path / f"{i}.dcm")
        files[-1].write_bytes(data)
    expected = predict(registry.load(released.store, f"{NAME}@1.0.0", root=released.root), files).probabilities
    token = create_client(released.store, "study-client", [NAME], actor="admin")
    content_type, body = multipart(parts)
    with serving(released) as server:
        status, answer = server.infer(token, body, content_type)
    assert status == 200
    got = np.array([[row[label] for label in answer["labels"]] for row in answer["instances"]])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    row = _records(released)[answer["request_id"]]
    digest = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).hexdigest()
    assert (row.input_sha256, row.model_digest, json.loads(row.output)) == (digest, answer["model_digest"],
                                                                           answer["instances"])
    assert row.latency_ms > 0 and len(json.loads(row.inputs)) == 3


def test_with_a_key_only_pseudonyms_are_recorded(released: Released) -> None:
    """With a de-identification key the record names patient and study by keyed pseudonym, never the originals."""
    key = DeidKey(b"k" * 32)
    ds = dicom()
    token = create_client(released.store, "deid-client", [NAME], actor="admin")
    with serving(released, ApiSettings(deid_key=key)) as server:
        status, answer = server.infer(token, dicom_bytes(ds))
    assert status == 200
    row = _records(released)[answer["request_id"]]
    text = json.dumps(row.model_dump(mode="json"))
    assert json.loads(row.pseudonyms) == {"patients": [key.pseudonym("patient", "SYNTHETIC-1")],
                                          "studies": [key.uid(ds.StudyInstanceUID)]}
    assert "SYNTHETIC-1" not in text and ds.StudyInstanceUID not in text


def test_openapi_description_is_served(released: Released) -> None:
    """The service serves its OpenAPI description, naming the inference route and its DICOM media types."""
    with serving(released) as server:
        status, spec = server.call("GET", "/openapi.json")
    assert status == 200
    route = spec["paths"]["/v1/models/{name}/infer"]["post"]
    assert "application/dicom" in route["requestBody"]["content"]
