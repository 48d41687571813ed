"""Every answered inference appended to the store, for post-market monitoring (`qms monitor`)."""

from __future__ import annotations

import hashlib
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

__all__ = ["Answer", "input_sha256", "pseudonyms", "record"]


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


def record(store: Store, answer: Answer, instances: Sequence[Instance], ids: dict[str, list[str]]) -> InferenceRecord:
    """Append the inference record (input by digest, ids by pseudonym, no PHI)."""
    row = InferenceRecord(request_id=answer.request_id, client=answer.client, model_ref=answer.model.ref,
                          model_digest=answer.model.digest, input_sha256=input_sha256(instances),
                          pseudonyms=canonical_json(ids).decode(),
                          inputs=canonical_json([describe(i.dataset) for i in instances]).decode(),
                          output=canonical_json(answer.scores).decode(), latency_ms=answer.latency_ms)
    return store.add(row)
