"""Test runs: what the pytest plugin records, and the results the trace matrix reads back.

A run is recorded whole, in one transaction with its audit event, or not at all. The
trace takes, for each test, its latest result in a run of HEAD on a clean tree; a test
with no such result is shown with its latest result anywhere, as not run at HEAD.

A run also says which tests exist: the tests it collected. Once HEAD has a clean run,
a test that run did not collect (renamed or deleted) is gone from the trace, whatever
older runs recorded for it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from itertools import chain
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select

from qms import audit
from qms.hashing import canonical_json, digest_of
from qms.store import Store
from qms.store.records import new_id
from qms.traceability.cachetag import read_json, write_json
from qms.traceability.codedigest import code_digest
from qms.traceability.records import RESULT_TABLE, RUN_TABLE, TestRunRecord

__all__ = ["RESULT_FIELDS", "LatestResult", "Outcome", "RunScope", "TestResult", "TestRun", "latest_results",
           "newest_run_scope", "record_run", "results_digest", "results_key"]


class Outcome(str, Enum):
    """A test's outcome over its setup, call and teardown phases."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED = "skipped"
    XFAILED = "xfailed"
    XPASSED = "xpassed"


_OUTCOMES = {o.value: o for o in Outcome}


@dataclass(frozen=True)
class TestResult:
    __test__ = False

    nodeid: str
    outcome: Outcome
    duration: float
    verifies: tuple[str, ...]
    docstring: str = ""
    source_sha256: str | None = None
    """The fingerprint of the test function's source (`qms.traceability.testsource`), when known."""

    def to_json(self) -> dict[str, Any]:
        source = {"source_sha256": self.source_sha256} if self.source_sha256 else {}
        return {"nodeid": self.nodeid, "outcome": self.outcome.value, "duration": round(self.duration, 6),
                "verifies": list(self.verifies), "docstring": self.docstring, **source}


@dataclass(frozen=True)
class TestRun:
    """One session's results and the environment it ran in."""

    __test__ = False

    device: str
    commit: str | None
    dirty: bool
    started_at: str
    finished_at: str
    python: str
    platform: str
    packages: dict[str, str]
    exit_status: int
    results: tuple[TestResult, ...]
    unlinked: tuple[str, ...] = field(default=())
    collected: tuple[str, ...] = field(default=())
    """Every test the session collected (those it did not reach too); empty means the results' tests."""

    @property
    def tests(self) -> tuple[str, ...]:
        """The tests that exist in this run's tree: those collected, and any with a result."""
        return tuple(dict.fromkeys((*self.collected, *(r.nodeid for r in self.results))))

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device, "commit": self.commit, "dirty": self.dirty, "started_at": self.started_at,
            "finished_at": self.finished_at, "python": self.python, "platform": self.platform,
            "packages": self.packages, "exit_status": self.exit_status,
            "results": [r.to_json() for r in self.results], "unlinked": list(self.unlinked),
            "collected": list(self.tests),
        }

    @property
    def digest(self) -> str:
        return digest_of(self.to_json())


RESULT_FIELDS = ("nodeid", "outcome", "verifies", "docstring", "source_sha256")
"""The `test_result` columns a run's `test.run` event commits to (`results_digest`): all but ids and the duration."""


def results_digest(results: Iterable[tuple[str, ...]]) -> str:
    """Digest of a run's results as stored, in any order: each one's `RESULT_FIELDS` values (no source: "").

    The rows are sorted and their fields joined by NUL, after their count: a row set with the
    same count and digest has the same fields, as long as the recorded ones hold no NUL (no
    PostgreSQL text can; a pytest node id cannot). Joined text, not JSON: the gate hashes every
    result of the runs a release relies on at each `qms verify`, and this is several times faster.
    """
    rows = sorted(results)
    digest = hashlib.sha256(f"{len(rows)}\x00".encode())
    digest.update("\x00".join(chain.from_iterable(rows)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def record_run(store: Store, run: TestRun, actor: str) -> str:
    """Append the run, its results and a `test.run` audit event in one transaction; returns the run id."""
    record = TestRunRecord(
        device=run.device, commit=run.commit, dirty=run.dirty, started_at=run.started_at,
        finished_at=run.finished_at, python=run.python, platform=run.platform,
        packages=canonical_json(run.packages).decode(), unlinked=canonical_json(list(run.unlinked)).decode(),
        collected=canonical_json(list(run.tests)).decode(), exit_status=run.exit_status, actor=actor, report_digest=run.digest,
    )
    stored = [(r.nodeid, r.outcome.value, canonical_json(list(r.verifies)).decode(), r.docstring, r.source_sha256 or "")
              for r in run.results]  # each result's RESULT_FIELDS, as stored
    rows = [
        {"id": new_id(), "created_at": record.created_at, "run_id": record.id, "nodeid": nodeid, "outcome": outcome,
         "duration": r.duration, "verifies": verifies, "docstring": docstring, "source_sha256": r.source_sha256,
         "supersedes": None}
        for r, (nodeid, outcome, verifies, docstring, _) in zip(run.results, stored, strict=True)
    ]
    counts: dict[str, int] = {}
    for r in run.results:
        counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
    with store.transaction() as session:
        session.add(record)
        session.flush()
        if rows:
            session.execute(RESULT_TABLE.insert(), rows)
        audit.append(session, audit.EventSpec(
            actor, "test.run", f"test-run:{record.id}", after=run.digest,
            details={"device": run.device, "commit": run.commit, "dirty": run.dirty, "outcomes": counts,
                     "tests": len(run.results), "unlinked": len(run.unlinked),
                     "results_sha256": results_digest(stored)},
        ))
    return str(record.id)


@dataclass(frozen=True)
class LatestResult:
    """The result the trace uses for one test, and the run it came from."""

    nodeid: str
    outcome: Outcome
    verifies: tuple[str, ...]
    docstring: str
    run_id: str
    commit: str | None
    dirty: bool

    def at(self, head: str | None) -> bool:
        """True when this result is evidence for `head`: that commit, on a clean tree."""
        return head is not None and self.commit == head and not self.dirty


def results_key(store: Store, device: str, head: str | None) -> str:
    """What the chosen results depend on: the store, the device's runs (append-only: count and newest), HEAD, the code."""
    run = RUN_TABLE
    with store.engine.connect() as conn:
        count, newest = conn.execute(select(func.count(), func.max(run.c.created_at)).where(run.c.device == device)).one()
    return digest_of([store.store_id, device, head, count, str(newest), code_digest()])


def latest_results(store: Store, device: str, head: str | None, cache: Path | None = None,
                   key: str | None = None, mac_key: bytes | None = None) -> dict[str, LatestResult]:
    """Per test, its latest result at HEAD on a clean tree, else its latest result anywhere.

    With `cache`, the answer is kept in that file under `results_key` (given, or taken
    here): records are only ever appended, so any new run changes the key and the cache
    is recomputed. A key taken before a run was added never comes back, so a cache
    written under it with that run's results is never read. The file is tagged under
    `mac_key` (`qms.traceability.cachetag`).
    """
    if cache is not None and key is None:
        key = results_key(store, device, head)
    data = read_json(cache, mac_key) if cache is not None else None
    if data is not None:
        try:
            if isinstance(data, dict) and data.get("key") == key:
                shared: dict[Any, Any] = {}
                return {r[0]: LatestResult(r[0], _OUTCOMES[r[1]], tuple(r[2]), r[3], shared.setdefault(r[4], r[4]),
                                           shared.setdefault(r[5], r[5]), bool(r[6])) for r in data["results"]}
        except (ValueError, KeyError, TypeError, IndexError):
            pass  # a damaged cache: query the store
    chosen = _query_latest(store, device, head)
    if cache is not None:
        rows = [[r.nodeid, r.outcome.value, list(r.verifies), r.docstring, r.run_id, r.commit, r.dirty] for r in chosen.values()]
        write_json(cache, json.dumps({"key": key, "results": rows}, separators=(",", ":")).encode(), mac_key)
    return chosen


def _ids(text: str) -> tuple[str, ...]:
    """A canonical JSON list of ids, read fast when it has no escapes (checked by writing it back), else by json."""
    if text == "[]":
        return ()
    if "\\" not in text and text.startswith('["') and text.endswith('"]'):
        ids = text[2:-2].split('","')
        if '["' + '","'.join(ids) + '"]' == text and not any('"' in i for i in ids):
            return tuple(ids)
    return tuple(json.loads(text))


def _existing(conn: Any, at_head: Any) -> set[str] | None:
    """The tests the newest clean run of HEAD collected; None when HEAD has no clean run yet."""
    run = RUN_TABLE
    newest = conn.execute(select(run.c.id, run.c.collected).where(at_head)
                          .order_by(run.c.created_at.desc(), run.c.id.desc()).limit(1)).first()
    if newest is None:
        return None
    if newest.collected is not None:
        return set(_ids(newest.collected))
    # a run recorded before runs kept their collected set: the tests it has results for
    return set(conn.execute(select(RESULT_TABLE.c.nodeid).where(RESULT_TABLE.c.run_id == newest.id)).scalars())


@dataclass(frozen=True)
class RunScope:
    """How much of the suite the newest clean run of HEAD ran: its results against the tests it collected."""

    run_id: str
    ran: int
    collected: int

    @property
    def partial(self) -> bool:
        """True when some collected tests have no result (deselected with -k / -m, or not reached)."""
        return self.ran < self.collected


def newest_run_scope(store: Store, device: str, head: str | None) -> RunScope | None:
    """The scope of the newest clean run of HEAD; None when HEAD has none."""
    if head is None:
        return None
    run = RUN_TABLE
    with store.engine.connect() as conn:
        newest = conn.execute(select(run.c.id, run.c.collected)
                              .where(run.c.device == device, run.c.commit == head, run.c.dirty.is_(False))
                              .order_by(run.c.created_at.desc(), run.c.id.desc()).limit(1)).first()
        if newest is None:
            return None
        ran = conn.execute(select(func.count()).select_from(RESULT_TABLE)
                           .where(RESULT_TABLE.c.run_id == newest.id)).scalar_one()
    collected = len(_ids(newest.collected)) if newest.collected is not None else ran
    return RunScope(str(newest.id), int(ran), max(collected, int(ran)))


def _query_latest(store: Store, device: str, head: str | None) -> dict[str, LatestResult]:
    """Per test that exists at HEAD: the newest result of a clean run of HEAD, else the newest anywhere."""
    run = RUN_TABLE
    res = RESULT_TABLE
    columns = (res.c.nodeid, res.c.outcome, res.c.verifies, res.c.docstring, run.c.id, run.c.commit, run.c.dirty)
    joined = res.join(run, res.c.run_id == run.c.id)
    of_device = run.c.device == device
    at_head = and_(of_device, run.c.commit == head, run.c.dirty.is_(False)) if head is not None else None

    def newest(where: Any) -> Any:
        latest = (select(res.c.nodeid, func.max(run.c.created_at).label("at")).select_from(joined).where(where)
                  .group_by(res.c.nodeid).subquery())
        return (select(*columns).select_from(joined.join(latest, and_(res.c.nodeid == latest.c.nodeid,
                                                                      run.c.created_at == latest.c.at)))
                .where(where).order_by(run.c.created_at, run.c.id))

    if at_head is None:
        queries = [newest(of_device)]
    else:
        with_evidence = select(res.c.nodeid).select_from(joined).where(at_head)
        queries = [newest(and_(of_device, res.c.nodeid.not_in(with_evidence))), newest(at_head)]
    chosen: dict[str, LatestResult] = {}
    shared: dict[Any, Any] = {}  # one object per run id and commit, not one per result
    with store.engine.connect() as conn:
        existing = _existing(conn, at_head) if at_head is not None else None
        for query in queries:  # disjoint tests; within one, oldest to newest, so the newest (ties: last run id) wins
            for nodeid, outcome, verifies, doc, run_id, commit, dirty in conn.execute(query):
                if existing is not None and nodeid not in existing:
                    continue
                chosen[nodeid] = LatestResult(nodeid, _OUTCOMES[outcome], _ids(verifies), doc,
                                              shared.setdefault(run_id, run_id), shared.setdefault(commit, commit),
                                              bool(dirty))
    return chosen
