"""A verifying test's source fingerprint: a test changed since its link was reviewed makes the link suspect.

A design link is suspect when its parent changed since the link was reviewed
(`qms.traceability.checks`). A test's link to the item it verifies is suspect in the same
way when the test function's source changed since the link was reviewed: a test reduced
to `pass` still passes, and only its source shows it. The pytest plugin records each
result with its test's fingerprint; the reviewed fingerprint of a link is the latest
`LinkReview` with the test's node id as the item, else the one the link was first
recorded with.
"""

from __future__ import annotations

import inspect
import json
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from qms import audit
from qms.errors import QmsError
from qms.findings import Finding
from qms.hashing import normalised_text_digest
from qms.store import Store
from qms.traceability.findings import Check
from qms.traceability.records import RESULT_TABLE, LinkReview
from qms.traceability.runs import LatestResult

__all__ = ["TestReview", "review_test", "source_fingerprint", "suspect_tests"]

_CHUNK = 500  # node ids per IN (...) query, well under every driver's parameter limit


def source_fingerprint(func: object) -> str | None:
    """sha256 of a test function's source (decorators and docstring included), dedented, trailing spaces dropped."""
    try:
        source = inspect.getsource(inspect.unwrap(func))  # type: ignore[arg-type]
    except (OSError, TypeError):
        return None
    return normalised_text_digest("\n".join(line.rstrip() for line in textwrap.dedent(source).splitlines()))


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(ids), _CHUNK):
        yield ids[i:i + _CHUNK]


def _reviewed(store: Store, nodeids: list[str]) -> dict[tuple[str, str], str]:
    """(test, item) -> the fingerprint the link was last reviewed at, else the one it was first recorded with."""
    res = RESULT_TABLE
    first: dict[tuple[str, str], str] = {}
    reviews: dict[tuple[str, str], str] = {}
    with store.engine.connect() as conn:
        for chunk in _chunks(nodeids):
            rows = conn.execute(select(res.c.nodeid, res.c.verifies, res.c.source_sha256)
                                .where(res.c.nodeid.in_(chunk), res.c.source_sha256.is_not(None))
                                .order_by(res.c.created_at, res.c.id))
            for nodeid, verifies, source in rows:
                for item in json.loads(verifies):
                    first.setdefault((nodeid, item), source)
            review = LinkReview.__table__.c  # type: ignore[attr-defined]
            for item_id, parent_id, fingerprint in conn.execute(
                    select(review.item_id, review.parent_id, review.fingerprint)
                    .where(review.item_id.in_(chunk)).order_by(review.created_at, review.id)):
                reviews[(item_id, parent_id)] = fingerprint
    return {**first, **reviews}


def _current(store: Store, results: Mapping[str, LatestResult]) -> dict[str, str]:
    """Each test's fingerprint in the result the trace uses (absent when that run recorded none)."""
    res = RESULT_TABLE
    by_run: dict[str, set[str]] = {}
    for r in results.values():
        by_run.setdefault(r.run_id, set()).add(r.nodeid)
    out: dict[str, str] = {}
    with store.engine.connect() as conn:
        for run_id, nodeids in by_run.items():
            for nodeid, source in conn.execute(select(res.c.nodeid, res.c.source_sha256)
                                               .where(res.c.run_id == run_id, res.c.source_sha256.is_not(None))):
                if nodeid in nodeids:
                    out[nodeid] = source
    return out


def suspect_tests(store: Store, results: Mapping[str, LatestResult]) -> list[Finding]:
    """A suspect-link finding for each (test, item) whose test changed since the link was reviewed."""
    verifying = {n: r for n, r in results.items() if r.verifies}
    current = _current(store, verifying)
    reviewed = _reviewed(store, sorted(current))
    out = []
    for nodeid, fingerprint in sorted(current.items()):
        for item in verifying[nodeid].verifies:
            base = reviewed.get((nodeid, item))
            if base is not None and base != fingerprint:
                out.append(Finding(Check.SUSPECT_LINK, nodeid, f"the test changed since its link to {item} was reviewed",
                                   f"review {nodeid} against {item} (does it still verify it?), then record the review "
                                   f"with `qms trace review-test {nodeid}`", where=nodeid))
    return out


@dataclass(frozen=True)
class TestReview:
    """What reviewing a test's links changed: item -> (fingerprint before, fingerprint now)."""

    __test__ = False

    nodeid: str
    changes: dict[str, tuple[str | None, str]]

    def to_json(self) -> dict[str, Any]:
        return {"test": self.nodeid, "changes": {i: {"before": b, "after": a} for i, (b, a) in self.changes.items()}}


def review_test(store: Store, results: Mapping[str, LatestResult], nodeid: str, actor: str) -> TestReview:
    """Record that a person reviewed the test, as it last ran, against every item it verifies (with its audit event)."""
    result = results.get(nodeid)
    fingerprint = _current(store, {nodeid: result}).get(nodeid) if result is not None else None
    if result is None or fingerprint is None:
        raise QmsError(f"no recorded result of {nodeid} with its source fingerprint", where=nodeid,
                       hint="run the tests (the qmskit pytest plugin records the fingerprint), then review")
    reviewed = _reviewed(store, [nodeid])
    changes = {item: (reviewed.get((nodeid, item)), fingerprint) for item in result.verifies
               if reviewed.get((nodeid, item)) != fingerprint}
    review = TestReview(nodeid, changes)
    if changes:
        with store.transaction() as session:
            for item, (before, after) in changes.items():
                session.add(LinkReview(item_id=nodeid, parent_id=item, fingerprint=after, previous=before, actor=actor))
            session.flush()
            audit.append(session, audit.EventSpec(actor, "trace.review-test", f"test:{nodeid}",
                                                  after=audit.state_digest({i: a for i, (_, a) in changes.items()}),
                                                  details=review.to_json()))
    return review
