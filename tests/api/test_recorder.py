"""The inference recorder: concurrent records share transactions (group commit), none is lost, and a closed
recorder refuses new records instead of leaving them waiting."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event
from sqlmodel import select

from qms.api.recording import Recorder, RecorderClosed, Row, record_row
from qms.api.records import InferenceRecord
from qms.store import Store


_COLUMNS = {"client": "c", "model_ref": "m@1", "model_digest": "0" * 64, "input_sha256": "0" * 64, "pseudonyms": "{}",
            "inputs": "[]", "output": "[]", "latency_ms": 1.0}


def _row(i: int) -> Row:
    return record_row(request_id=f"{i:032d}", **_COLUMNS)


def test_a_row_has_every_column_and_the_records_own_defaults() -> None:
    """A record's row names every column of the table, with a fresh id and time of its own as the model makes them;
    a row missing a column without default, or naming one the table lacks, is refused before any INSERT."""
    first, second = _row(1), _row(2)
    assert set(first) == set(InferenceRecord.__table__.columns.keys())  # type: ignore[attr-defined]
    assert first["id"] != second["id"] and len(first["id"]) == 32 and first["supersedes"] is None
    assert first["created_at"].utcoffset() is not None
    with pytest.raises(TypeError, match="request_id"):
        record_row(**_COLUMNS)
    with pytest.raises(TypeError, match="patient_name"):
        record_row(request_id="0" * 32, patient_name="x", **_COLUMNS)


def test_concurrent_records_share_commits_and_all_arrive(store: Store) -> None:
    """Sixteen requests recording at once are all committed, each once, in fewer transactions than records (SQLite and
    PostgreSQL)."""
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    recorder = Recorder(store)
    start = threading.Barrier(16)

    def one(i: int) -> None:
        start.wait()
        recorder.append([_row(i)])

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(16)))
    recorder.close()
    with store.reader() as session:
        ids = session.exec(select(InferenceRecord.request_id)).all()
    assert sorted(ids) == [f"{i:032d}" for i in range(16)]
    assert len(commits) < 16


def test_a_closed_recorder_refuses_new_records(store: Store) -> None:
    """After close, an append raises RecorderClosed (the service answers 503) and nothing is written."""
    recorder = Recorder(store)
    recorder.append([_row(1)])
    recorder.close()
    with pytest.raises(RecorderClosed):
        recorder.append([_row(2)])
    with store.reader() as session:
        rows = list(session.exec(select(InferenceRecord.request_id)).all())
    assert rows == [f"{1:032d}"]


def test_a_batchs_rows_are_one_commit(store: Store) -> None:
    """The rows of one append (a batch's records) are committed in one transaction, all of them."""
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    Recorder(store).append([_row(i) for i in range(4)])
    with store.reader() as session:
        ids = session.exec(select(InferenceRecord.request_id)).all()
    assert sorted(ids) == [f"{i:032d}" for i in range(4)] and len(commits) == 1
