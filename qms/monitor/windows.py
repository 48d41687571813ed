"""Production inference records of one model version, cut into consecutive windows.

A window closes when its length has passed or, when the plan says so, once a number of
flagged studies (requests with an instance at or above the flag threshold) arrived in it;
the next one opens where it closed.
"""

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

__all__ = ["FlagRule", "Window", "records", "windows"]


@dataclass
class Window:
    """The instances answered in [start, end): their scores per label and their input descriptions."""

    start: datetime
    end: datetime
    requests: int = 0
    scores: dict[str, list[float]] = field(default_factory=dict)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    cases: list[tuple[str, int]] = field(default_factory=list)
    """(request id, instance) of each instance, in the order of `inputs`."""

    def add(self, row: InferenceRecord) -> list[dict[str, float]]:
        self.requests += 1
        output: list[dict[str, float]] = json.loads(row.output)
        for index, instance in enumerate(output):
            self.cases.append((row.request_id, index))
            for label, value in instance.items():
                self.scores.setdefault(label, []).append(float(value))
        self.inputs.extend(json.loads(row.inputs))
        return output

    @property
    def name(self) -> str:
        return f"{self.start:%Y-%m-%dT%H:%M}..{self.end:%Y-%m-%dT%H:%M}"


def records(store: Store, model_ref: str) -> list[InferenceRecord]:
    """Every inference the model version answered, oldest first."""
    with store.reader() as session:
        return list(session.exec(select(InferenceRecord).where(InferenceRecord.model_ref == model_ref)
                                 .order_by(col(InferenceRecord.created_at))).all())


@dataclass(frozen=True)
class FlagRule:
    """A window also closes once `every` studies were flagged: `label`'s score at or above `threshold`."""

    every: int
    label: str
    threshold: float

    def flags(self, output: Sequence[dict[str, float]]) -> bool:
        return any(instance.get(self.label, float("-inf")) >= self.threshold for instance in output)


def windows(rows: Sequence[InferenceRecord], length: timedelta, flagged: FlagRule | None = None) -> list[Window]:
    """Consecutive windows of `length` from the first record, each closed early after `flagged.every` flagged
    studies; empty windows are kept (a silent service is news)."""
    if length <= timedelta(0):
        raise QmsError(f"a monitoring window must be longer than zero (got {length})", where="--window")
    if not rows:
        return []
    start, out, count = rows[0].created_at, list[Window](), 0
    for row in rows:
        while not out or row.created_at >= out[-1].end:
            begin = out[-1].end if out else start
            out.append(Window(begin, begin + length))
            count = 0
        output = out[-1].add(row)
        if flagged is not None and flagged.flags(output):
            count += 1
            if count >= flagged.every:
                out[-1].end = row.created_at + timedelta(microseconds=1)
    return out
