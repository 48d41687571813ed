"""A verifying test's source fingerprint: a test changed since its link was reviewed makes the link suspect.

A design link is suspect when its parent changed since the link was reviewed
(`qms.traceability.checks`). A test's link to the item it verifies is suspect in the same
way when the test function's source changed since the link was reviewed: a test reduced
to `pass` still passes, and only its source shows it. The pytest plugin records each
result with its test's fingerprint; the reviewed fingerprint of a link is the latest
`LinkReview` with the test's node id as the item, else the one the link was first
recorded with. The link is suspect too when the item it verifies changed since that review
(read back from git at the commit of the result reviewed), as a design link is when its
parent changes; and, never reviewed, when the item's verification moved to it from a test
that no longer verifies it (a test renamed, or its marker moved: the new link's first record
is not a baseline anyone looked at).
"""

from __future__ import annotations

import bisect
import inspect
import json
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from qms import audit
from qms.errors import QmsError
from qms.findings import Finding
from qms.hashing import digest_of, normalised_text_digest
from qms.store import Store
from qms.traceability.cachetag import read_json, write_json
from qms.traceability.design import Design
from qms.traceability.findings import Check, finding_from_json
from qms.traceability.gitstate import head_commit
from qms.traceability.history import fingerprints_at
from qms.traceability.records import RESULT_TABLE, RUN_TABLE, LinkReview
from qms.traceability.runs import LatestResult

__all__ = ["TestReview", "cached_suspect_tests", "review_test", "source_fingerprint", "suspect_tests"]

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


@dataclass(frozen=True)
class _Baseline:
    """A test link as last reviewed (else as first recorded): the test's fingerprint then, and the commit of the
    result it was reviewed (recorded) at."""

    fingerprint: str
    commit: str | None
    reviewed: bool = True


def _reviewed(store: Store, nodeids: list[str]) -> dict[tuple[str, str], _Baseline]:
    """(test, item) -> the link as last reviewed, else as first recorded.

    A review is of the test as it last ran before the review: its commit is that result's run's.
    """
    res, run = RESULT_TABLE, RUN_TABLE
    first: dict[tuple[str, str], _Baseline] = {}
    reviews: dict[tuple[str, str], _Baseline] = {}
    ran: dict[str, list[tuple[Any, str | None]]] = {}  # test -> (recorded at, commit), oldest first
    with store.engine.connect() as conn:
        for chunk in _chunks(nodeids):
            rows = conn.execute(select(res.c.nodeid, res.c.verifies, res.c.source_sha256, res.c.created_at, run.c.commit)
                                .select_from(res.join(run, res.c.run_id == run.c.id))
                                .where(res.c.nodeid.in_(chunk), res.c.source_sha256.is_not(None))
                                .order_by(res.c.created_at, res.c.id))
            for nodeid, verifies, source, at, commit in rows:
                ran.setdefault(nodeid, []).append((at, commit))
                for item in json.loads(verifies):
                    first.setdefault((nodeid, item), _Baseline(source, commit, reviewed=False))
            review = LinkReview.__table__.c  # type: ignore[attr-defined]
            for item_id, parent_id, fingerprint, at in conn.execute(
                    select(review.item_id, review.parent_id, review.fingerprint, review.created_at)
                    .where(review.item_id.in_(chunk)).order_by(review.created_at, review.id)):
                before = ran.get(item_id, [])
                index = bisect.bisect_right([r[0] for r in before], at)
                reviews[(item_id, parent_id)] = _Baseline(fingerprint, before[index - 1][1] if index else None)
    return {**first, **reviews}


def _changed_items(root: Path, design: Design, baselines: Iterable[tuple[str, str | None]]) -> set[tuple[str, str]]:
    """(item, commit) pairs where the item's content now differs from its content at that commit (`fingerprints_at`)."""
    by_commit: dict[str, set[str]] = {}
    for item, commit in baselines:
        if commit is not None and item in design.items:
            by_commit.setdefault(commit, set()).add(item)
    out: set[tuple[str, str]] = set()
    for commit, ids in by_commit.items():
        then = fingerprints_at(root, commit, (design.items[i] for i in sorted(ids)))
        out.update((i, commit) for i, old in then.items() if old is not None and old != design.items[i].fingerprint)
    return out


def _moved(store: Store, verifying: Mapping[str, LatestResult]) -> dict[tuple[str, str], str]:
    """(test, item) -> a test that linked the item before this test first did and links it no more: the item's
    verification moved (a renamed test, a marker moved to another test)."""
    res = RESULT_TABLE
    linked: dict[str, dict[str, Any]] = {}  # item -> {test: first recorded}
    with store.engine.connect() as conn:
        for nodeid, verifies, at in conn.execute(select(res.c.nodeid, res.c.verifies, func.min(res.c.created_at))
                                                 .where(res.c.verifies != "[]").group_by(res.c.nodeid, res.c.verifies)):
            for item in json.loads(verifies):
                known = linked.setdefault(item, {})
                known[nodeid] = min(at, known.get(nodeid, at))
    out: dict[tuple[str, str], str] = {}
    for nodeid, result in verifying.items():
        for item in result.verifies:
            tests = linked.get(item, {})
            since = tests.get(nodeid)
            gone = sorted(n for n, at in tests.items() if since is not None and at < since
                          and item not in (verifying[n].verifies if n in verifying else ()))
            if gone:
                out[(nodeid, item)] = gone[0]
    return out


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


def suspect_tests(store: Store, results: Mapping[str, LatestResult], design: Design | None = None,
                  root: Path | None = None) -> list[Finding]:
    """A suspect-link finding for each (test, item) whose test changed since the link was reviewed.

    With the `design` and the project `root` (a git work tree), also for each (test, item)
    whose item's content changed since then (IEC 62304 §8.2: a changed requirement's
    verification is reviewed again), as a design link is when its parent changes.
    """
    verifying = {n: r for n, r in results.items() if r.verifies}
    current = _current(store, verifying)
    reviewed = _reviewed(store, sorted(current))
    changed = (_changed_items(root, design, ((i, b.commit) for (_, i), b in reviewed.items()))
               if design is not None and root is not None else set())
    moved = _moved(store, verifying)
    out = []
    for nodeid, fingerprint in sorted(current.items()):
        for item in verifying[nodeid].verifies:
            base = reviewed.get((nodeid, item))
            if base is None:
                continue
            hint = (f"review {nodeid} against {item} (does it still verify it?), then record the review "
                    f"with `qms trace review-test {nodeid}`")
            if not base.reviewed and (nodeid, item) in moved:
                out.append(Finding(Check.SUSPECT_LINK, nodeid, f"{item}'s verification moved to this test from "
                                   f"{moved[(nodeid, item)]}, which no longer verifies it, and the new link was never "
                                   "reviewed", hint, where=nodeid))
            elif base.fingerprint != fingerprint:
                then = "reviewed" if base.reviewed else "first recorded (never reviewed)"
                out.append(Finding(Check.SUSPECT_LINK, nodeid, f"the test changed since its link to {item} was {then}",
                                   hint, where=nodeid))
            elif (item, base.commit) in changed:
                out.append(Finding(Check.SUSPECT_LINK, nodeid, f"{item} changed since its link to the test was reviewed",
                                   hint, where=nodeid))
    return out


def cached_suspect_tests(store: Store, results: Mapping[str, LatestResult], design: Design, root: Path | None,
                         cache: Path, results_key: str, mac_key: bytes | None = None) -> list[Finding]:
    """`suspect_tests`, kept in the file `cache` while its inputs are the same.

    The inputs: the results (`results_key`: the device's runs, HEAD, the code), every link
    review (append-only: their count and newest), and the design files' digests (the items'
    content now; their content at a commit never changes). The file is tagged under `mac_key`.
    """
    review = LinkReview.__table__.c  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        count, newest = conn.execute(select(func.count(), func.max(review.created_at))).one()
    key = digest_of([results_key, count, str(newest), [list(s) for s in design.sources], str(root)])
    data = read_json(cache, mac_key)
    try:
        if isinstance(data, dict) and data.get("key") == key:
            return [finding_from_json(f) for f in data["findings"]]
    except (ValueError, KeyError, TypeError):
        pass  # a damaged cache: compute
    found = suspect_tests(store, results, design, root)
    write_json(cache, json.dumps({"key": key, "findings": [f.to_json() for f in found]}).encode(), mac_key)
    return found


@dataclass(frozen=True)
class TestReview:
    """What reviewing a test's links changed: item -> (fingerprint before, fingerprint now)."""

    __test__ = False

    nodeid: str
    changes: dict[str, tuple[str | None, str]]

    def to_json(self) -> dict[str, Any]:
        return {"test": self.nodeid, "changes": {i: {"before": b, "after": a} for i, (b, a) in self.changes.items()}}


def review_test(store: Store, results: Mapping[str, LatestResult], nodeid: str, actor: str,
                design: Design | None = None, root: Path | None = None) -> TestReview:
    """Record that a person reviewed the test, as it last ran, against every item it verifies (with its audit event).

    A link is reviewed when the test changed since its last review, or (given the `design`
    and `root`) when the item did.
    """
    result = results.get(nodeid)
    fingerprint = _current(store, {nodeid: result}).get(nodeid) if result is not None else None
    if result is None or fingerprint is None:
        raise QmsError(f"no recorded result of {nodeid} with its source fingerprint", where=nodeid,
                       hint="run the tests (the qmskit pytest plugin records the fingerprint), then review")
    reviewed = _reviewed(store, [nodeid])
    changed = (_changed_items(root, design, ((i, b.commit) for (_, i), b in reviewed.items()))
               if design is not None and root is not None else set())
    as_reviewed = {item: reviewed.get((nodeid, item)) for item in result.verifies}
    moved = sorted(i for i, b in as_reviewed.items() if b is not None and (i, b.commit) in changed)
    if moved and root is not None and result.commit != head_commit(root):
        raise QmsError(f"{', '.join(moved)} changed since the link was reviewed, and {nodeid} has not run at HEAD",
                       where=nodeid, hint="run `qms test` at this commit, then review the test as it ran")
    changes = {item: (b.fingerprint if b else None, fingerprint) for item, b in as_reviewed.items()
               if b is None or not b.reviewed or b.fingerprint != fingerprint or (item, b.commit) in changed}
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
