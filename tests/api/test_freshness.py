"""The token and stage reads are re-made only when the audit chain moved, and a change is still seen at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from qms.api.app import ApiSettings
from qms.api.freshness import Reading, Reads
from qms.api.tokens import create_client, revoke_client
from qms.models.stages import Stage, change_stage
from qms.store import Store
from tests.api.service import NAME, dicom_bytes, release, serving


@contextmanager
def _statements(store: Store) -> Iterator[list[str]]:
    """Every SQL statement the store's engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def test_an_unchanged_audit_head_spares_the_token_and_stage_reads(tmp_path: Path) -> None:
    """Once a token and a stage were read, the next request with no audit event in between reads neither again."""
    released = release(tmp_path)
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    with serving(released) as server:
        assert server.infer(token, dicom_bytes())[0] == 200
        with _statements(released.store) as seen:
            assert server.infer(token, dicom_bytes())[0] == 200
    assert not [s for s in seen if "api_client" in s or "model_stage" in s], seen
    assert any(s.startswith("INSERT INTO api_inference") for s in seen)  # the listener saw the request's statements


def test_the_audit_head_is_read_while_a_writer_holds_the_store(tmp_path: Path) -> None:
    """A request's head read takes no write lock: it answers while another transaction holds SQLite's write lock
    (as the recorder's commit does), and as of the head last committed (the token read before it is kept)."""
    released = release(tmp_path)
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    reads = Reads(released.store)
    assert reads.now().client(token) is not None
    outcome: list[Reading] = []
    with released.store.transaction() as session:
        session.connection()  # BEGIN IMMEDIATE: the write lock is held from here to the block's end
        reader = threading.Thread(target=lambda: outcome.append(reads.now()), daemon=True)
        reader.start()
        reader.join(timeout=60)  # a read taking the write lock would wait out the store's busy timeout (120 s)
        assert outcome, "the head read waited for the writer"
    assert outcome[0].remembers(token)


def test_a_revoked_token_and_a_demoted_version_are_refused_at_the_next_request(tmp_path: Path) -> None:
    """A token revoked after use is 401 at its very next request, and a version demoted while served is 503 at its
    next one, with no reload in between (reload every 10 minutes)."""
    released = release(tmp_path)
    token = create_client(released.store, "clinic", [NAME], actor="admin")
    other = create_client(released.store, "other", [NAME], actor="admin")
    with serving(released, ApiSettings(reload_seconds=600)) as server:
        assert server.infer(token, dicom_bytes())[0] == 200 and server.infer(other, dicom_bytes())[0] == 200
        revoke_client(released.store, "clinic", actor="admin")
        assert server.infer(token, dicom_bytes())[0] == 401
        assert server.infer(other, dicom_bytes())[0] == 200
        change_stage(released.store, f"{NAME}@1.0.0", Stage.STAGING, actor="qa", reason="field complaint")
        status, problem = server.infer(other, dicom_bytes())
    assert status == 503 and "no longer in production" in str(problem["error"])
