"""Every answered inference appended to the store, for post-market monitoring (`qms monitor`)."""

from __future__ import annotations

import hashlib
import queue
import threading
from concurrent.futures import Future
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qms.api.features import describe
from qms.api.ingest import Instance
from qms.api.records import InferenceRecord
from qms.deid.keying import DeidKey
from qms.hashing import canonical_json
from qms.models.loaders import LoadedModel
from qms.store import Store

__all__ = ["Answer", "Recorder", "input_sha256", "pseudonyms", "to_record"]


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


def to_record(answer: Answer, instances: Sequence[Instance], ids: dict[str, list[str]]) -> InferenceRecord:
    """The inference record of an answer (input by digest, ids by pseudonym, no PHI)."""
    return InferenceRecord(request_id=answer.request_id, client=answer.client, model_ref=answer.model.ref,
                          model_digest=answer.model.digest, input_sha256=input_sha256(instances),
                          pseudonyms=canonical_json(ids).decode(),
                          inputs=canonical_json([describe(i.dataset) for i in instances]).decode(),
                          output=canonical_json(answer.scores).decode(), latency_ms=answer.latency_ms)


class Recorder:
    """Appends inference records with group commit: concurrent requests share one transaction (one fsync).

    `append` returns only once its record is committed, so an answer is never sent for an
    inference that is not recorded; a failed commit fails every request of its group.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: queue.SimpleQueue[tuple[InferenceRecord, Future[None]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="qms-api-recorder", daemon=True)
        self._thread.start()

    def append(self, row: InferenceRecord) -> None:
        done: Future[None] = Future()
        self._queue.put((row, done))
        done.result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            while not self._queue.empty() and len(group) < 256:
                item = self._queue.get()
                if item is None:
                    self._queue.put(None)
                    break
                group.append(item)
            try:
                with self._store.transaction() as session:
                    session.add_all([row for row, _ in group])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request, none is lost silently
                for _, done in group:
                    done.set_exception(exc)
            else:
                for _, done in group:
                    done.set_result(None)
