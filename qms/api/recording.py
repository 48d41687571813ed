"""Every answered inference appended to the store, for post-market monitoring (`qms monitor`)."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import Future
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from qms.api.features import describe
from qms.api.ingest import Instance
from qms.api.records import InferenceRecord
from qms.deid.keying import DeidKey
from qms.hashing import canonical_json
from qms.models.loaders import LoadedModel
from qms.store import Store

_TABLE = InferenceRecord.__table__  # type: ignore[attr-defined]

__all__ = ["Answer", "Recorder", "RecorderClosed", "Row", "input_sha256", "pseudonyms", "record_row", "to_record"]

Row = dict[str, Any]
"""An `InferenceRecord` as its INSERT takes it: the value of each column. The service builds no ORM object for a record
it never reads back (in the service that cost ~0.2 CPU-ms a request, more than the record's JSON and digests)."""


def record_row(**columns: Any) -> Row:
    """`columns` and every other column of `InferenceRecord` with the model's own default (a new `id`, `created_at`
    now); a column missing that has no default, or one the table lacks, is a TypeError."""
    fields = InferenceRecord.model_fields
    missing = [name for name, field in fields.items() if name not in columns and field.is_required()]
    if missing or not columns.keys() <= fields.keys():
        raise TypeError(f"an inference record needs {missing} and has no {sorted(columns.keys() - fields.keys())}")
    return {name: columns[name] if name in columns else field.get_default(call_default_factory=True)
            for name, field in fields.items()}


def input_sha256(instances: Sequence[Instance]) -> str:
    """sha256 over the instances' sha256s in order: the request's input, by content."""
    h = hashlib.sha256()
    for instance in instances:
        h.update(hashlib.sha256(instance.data).digest())
    return h.hexdigest()


def pseudonyms(instances: Sequence[Instance], key: DeidKey | None) -> dict[str, list[str]]:
    """The patients and studies, as the project's keyed mapping names them; nothing at all without a key."""
    if key is None:
        return {}
    patients = sorted({key.pseudonym("patient", str(i.dataset.get("PatientID", ""))) for i in instances})
    studies = sorted({key.uid(str(i.dataset.get("StudyInstanceUID", ""))) for i in instances})
    return {"patients": patients, "studies": studies}


@dataclass(frozen=True)
class Answer:
    """What the service answered one request with."""

    request_id: str
    client: str
    model: LoadedModel
    scores: list[dict[str, float]]
    latency_ms: float

    def to_json(self, ids: dict[str, list[str]]) -> dict[str, Any]:
        return {"request_id": self.request_id, "model": self.model.ref, "model_digest": self.model.digest,
                "labels": list(self.model.labels), "instances": self.scores, "pseudonyms": ids,
                "latency_ms": round(self.latency_ms, 3)}


def to_record(answer: Answer, instances: Sequence[Instance], ids: dict[str, list[str]]) -> Row:
    """The inference record of an answer (input by digest, ids by pseudonym, no PHI)."""
    return record_row(request_id=answer.request_id, client=answer.client, model_ref=answer.model.ref,
                      model_digest=answer.model.digest, input_sha256=input_sha256(instances),
                      pseudonyms=canonical_json(ids).decode(),
                      inputs=canonical_json([describe(i.dataset) for i in instances]).decode(),
                      output=canonical_json(answer.scores).decode(), latency_ms=answer.latency_ms)


class RecorderClosed(RuntimeError):
    """An inference finished after the recorder closed: it is not answered (the client retries elsewhere)."""


class Recorder:
    """Appends inference records with group commit: concurrent requests share one transaction (one fsync).

    Leader/follower, with no thread of its own: an `append` (one request's record, or a batch's
    records from its leader, `qms.api.batching`) whose rows are pending while no commit runs
    becomes the leader and commits every pending row in one transaction; those that arrive
    meanwhile wait, and one of them leads the next group. Alone, an append commits its own rows
    with no hand-over to another thread. `append` returns only once its rows are committed, so an
    answer is never sent for an inference that is not recorded; a failed commit fails every
    append of its group. `close` waits for every record already handed over
    to be committed (the service closes it after uvicorn's graceful shutdown has let the requests
    in flight finish); an `append` after it is refused, never left waiting.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cond = threading.Condition()
        self._pending: list[tuple[Sequence[Row], Future[None]]] = []
        self._leading = False
        self._closed = False

    def append(self, rows: Sequence[Row]) -> None:
        """Commit `rows` (a batch's records: in one transaction, with whatever else is pending) and return then."""
        done: Future[None] = Future()
        with self._cond:
            if self._closed:
                raise RecorderClosed("the service is stopping: no new inference is recorded")
            self._pending.append((rows, done))
            while self._leading and not done.done():
                self._cond.wait()
            if not done.done():
                self._leading = True
                group, self._pending = self._pending, []
        if not done.done():
            try:
                self._commit(group)
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
        done.result()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            while self._leading or self._pending:
                self._cond.wait()

    def _commit(self, group: list[tuple[Sequence[Row], Future[None]]]) -> None:
        try:
            with self._store.transaction() as session:  # one Core INSERT of the group: no ORM unit of work or execution
                session.connection().execute(insert(_TABLE), [row for rows, _ in group for row in rows])
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request, none is lost silently
            for _, done in group:
                done.set_exception(exc)
        else:
            for _, done in group:
                done.set_result(None)
