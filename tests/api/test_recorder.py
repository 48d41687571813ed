"""The inference recorder: concurrent records share transactions (group commit), none is lost, and a closed
recorder refuses new records instead of leaving them waiting."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import select

from qms.api.recording import Recorder, RecorderClosed
from qms.api.records import InferenceRecord
from qms.store import open_store


def _row(i: int) -> InferenceRecord:
    return InferenceRecord(request_id=f"{i:032d}", client="c", model_ref="m@1", model_digest="0" * 64,
                           input_sha256="0" * 64, pseudonyms="{}", inputs="[]", output="[]", latency_ms=1.0)


def test_concurrent_records_share_commits_and_all_arrive(tmp_path: Path) -> None:
    """Sixteen requests recording at once are all committed, each once, in fewer transactions than records."""
    store = open_store(f"sqlite:///{tmp_path / 'qms.db'}")
    commits: list[int] = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    recorder = Recorder(store)
    start = threading.Barrier(16)

    def one(i: int) -> None:
        start.wait()
        recorder.append(_row(i))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, range(16)))
    recorder.close()
    with store.reader() as session:
        ids = session.exec(select(InferenceRecord.request_id)).all()
    assert sorted(ids) == [f"{i:032d}" for i in range(16)]
    assert len(commits) < 16


def test_a_closed_recorder_refuses_new_records(tmp_path: Path) -> None:
    """After close, an append raises RecorderClosed (the service answers 503) and nothing is written."""
    store = open_store(f"sqlite:///{tmp_path / 'qms.db'}")
    recorder = Recorder(store)
    recorder.append(_row(1))
    recorder.close()
    with pytest.raises(RecorderClosed):
        recorder.append(_row(2))
    with store.reader() as session:
        rows = list(session.exec(select(InferenceRecord.request_id)).all())
    assert rows == [f"{1:032d}"]
