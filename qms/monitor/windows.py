"""Production inference records of one model version, cut into consecutive time windows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from qms.api.records import InferenceRecord
from qms.errors import QmsError
from qms.store import Store

__all__ = ["Window", "records", "windows"]


@dataclass
class Window:
    """The instances answered in [start, end): their scores per label and their input descriptions."""

    start: datetime
    end: datetime
    requests: int = 0
    scores: dict[str, list[float]] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: InferenceRecord) -> None:
        self.requests += 1
        for instance in json.loads(row.output):
            for label, value in instance.items():
                self.scores.setdefault(label, []).append(float(value))
        self.inputs.extend(json.loads(row.inputs))

    @property
    def name(self) -> str:
        return f"{self.start:%Y-%m-%dT%H:%M}..{self.end:%Y-%m-%dT%H:%M}"


def records(store: Store, model_ref: str) -> list[InferenceRecord]:
    """Every inference the model version answered, oldest first."""
    with store.reader() as session:
        return list(session.exec(select(InferenceRecord).where(InferenceRecord.model_ref == model_ref)
                                 .order_by(col(InferenceRecord.created_at))).all())


def windows(rows: Sequence[InferenceRecord], length: timedelta) -> list[Window]:
    """Consecutive windows of `length` from the first record; empty windows are kept (a silent service is news)."""
    if length <= timedelta(0):
        raise QmsError(f"a monitoring window must be longer than zero (got {length})", where="--window")
    if not rows:
        return []
    start, out = rows[0].created_at, list[Window]()
    for row in rows:
        while not out or row.created_at >= out[-1].end:
            begin = out[-1].end if out else start
            out.append(Window(begin, begin + length))
        out[-1].add(row)
    return out
