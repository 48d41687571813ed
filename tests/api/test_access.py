"""API clients: hashed tokens scoped to models, refusals audited, limits on size and rate."""

from __future__ import annotations

import hashlib
import json

from sqlmodel import select

from qms import audit
from qms.api.app import ApiSettings
from qms.api.records import ApiClient
from qms.api.tokens import create_client, revoke_client
from qms.store.records import AuditEvent
from tests.api.service import Released, dicom_bytes, serving


def _refusals(released: Released) -> list[dict[str, object]]:
    with released.store.reader() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "api.request.refuse")).all()
    return [json.loads(r.details) for r in rows]


def test_token_is_stored_only_as_its_hash(released: Released) -> None:
    """A created token is stored as its sha256 only, and its creation is an audit event naming the client."""
    token = create_client(released.store, "hash-check", ["tiny"], actor="admin")
    with released.store.reader() as session:
        row = session.exec(select(ApiClient).where(ApiClient.name == "hash-check")).one()
        events = session.exec(select(AuditEvent).where(AuditEvent.object == "api-client:hash-check")).all()
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(row.model_dump(mode="json"))
    assert [e.action for e in events] == ["api.token.create"] and token not in events[0].details
    assert audit.verify(released.store).first_break is None


def test_missing_wrong_revoked_and_out_of_scope_tokens_are_refused(released: Released) -> None:
    """No token, a wrong one or a revoked one is 401; a token not scoped to the model is 403; each is audited."""
    scoped = create_client(released.store, "other-model", ["another"], actor="admin")
    revoked = create_client(released.store, "revoked", ["tiny"], actor="admin")
    revoke_client(released.store, "revoked", actor="admin")
    before = len(_refusals(released))
    with serving(released) as server:
        statuses = [server.infer(token, dicom_bytes())[0] for token in ("", "qms_not-a-token", revoked, scoped)]
        problem = server.infer(scoped, dicom_bytes())[1]
    assert statuses == [401, 401, 401, 403]
    assert problem["where"] == "model:tiny" and "may not call" in str(problem["error"])
    assert len(_refusals(released)) - before == 5


def test_oversized_body_is_refused_before_reading(released: Released) -> None:
    """A body over the size limit is answered 413 naming the limit, and nothing is recorded for it."""
    token = create_client(released.store, "big-sender", ["tiny"], actor="admin")
    with serving(released, ApiSettings(max_bytes=2048)) as server:
        status, problem = server.infer(token, dicom_bytes())
    assert status == 413 and "2048" in str(problem["error"])


def test_rate_limit_refuses_the_request_over_the_burst(released: Released) -> None:
    """With a burst of 2 and a tiny refill rate, a client's third request is answered 429."""
    token = create_client(released.store, "eager", ["tiny"], actor="admin")
    with serving(released, ApiSettings(rate=0.001, burst=2)) as server:
        statuses = [server.call("GET", "/v1/models", token=token)[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
