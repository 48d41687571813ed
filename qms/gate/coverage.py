"""Nothing release-critical outside a signed checkpoint: signatures, promotions and bundles are all pinned.

The checkpoint log pins every event up to its latest checkpoint, and a checkpoint is sealed
automatically after every signature, promotion and bundle. So an event of those kinds after
the log's latest checkpoint means the log's tail was cut, the log deleted, or the event was
written around qmskit; events deleted after the last checkpoint are caught by the rows and
files that stay behind (a signature, promotion or bundle record whose event is gone, a bundle
on disk with no release.bundled event). Each bundle the project wrote carries a checkpoint of
its own (`qms.checkpoint_carried`): it is checked with the trusted key, must not be newer than
the log's latest, and pins the chain too, so deleting the log and rewriting the chain is caught.

Evidence events (test and validation runs, link and test-link reviews, protocol locks, model
registrations and training runs) must each lie in a range a line of the log witnesses: the
chain has no key, so an event appended around qmskit is hashed as well as a real one, but
only a command holding the checkpoint key seals the events it recorded (`checkpoint_log`).
Old stores as for the critical events: a line written before ranges witnesses all before it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import col, select

from qms import audit, checkpoint_log
from qms.checkpoint_carried import BUNDLE_SUFFIX, carried_checkpoints
from qms.errors import QmsError
from qms.findings import Finding
from qms.gate.grants import event_details
from qms.models.stages import Stage
from qms.release_steps import ReleaseStep
from qms.store import Store
from qms.store.records import AuditEvent

__all__ = ["Coverage", "check"]

CHECK = checkpoint_log.CHECK
_CUT = "the checkpoint log is append-only: restore it from backup and investigate who removed what"
_PROMOTED = Stage.PRODUCTION.value
_EVIDENCE = {"test.run": "qms test", "validation.run": "qms validate run", "trace.review": "qms trace review",
             "trace.review-test": "qms trace review-test", "protocol.lock": "qms protocol lock",
             "model.register": "qms model register", "model.train": "qms model train"}
"""The evidence events the gate relies on, and the command that records each."""


@dataclass
class Coverage:
    """The chain recomputed with every pin (the log's and the bundles'), the log as read, and every finding."""

    report: audit.ChainReport
    log: checkpoint_log.LogState
    findings: list[Finding]
    examined: int


def _critical(event: AuditEvent) -> str | None:
    """What a release-critical event is, named as a reader finds it; None for any other event."""
    if event.action == "signature.apply":
        return f"signature:{event_details(event).get('signature')}"
    if event.action == "model.stage" and event_details(event).get("to") == _PROMOTED:
        return f"promotion of {event.object}"
    if event.action == "release.bundled":
        return f"bundle of {event.object}"
    return None


def _events(store: Store) -> list[AuditEvent]:
    wanted = ("signature.apply", "model.stage", "release.bundled", *_EVIDENCE)
    with store.reader() as session:
        return list(session.exec(select(AuditEvent).where(col(AuditEvent.action).in_(wanted)).order_by(col(AuditEvent.seq))))


def _uncovered(events: Iterable[AuditEvent], log: checkpoint_log.LogState, log_path: Path) -> list[Finding]:
    """Every release-critical event after the log's latest checkpoint: each should have sealed one."""
    covered = log.latest.seq if log.latest is not None else 0
    ends = f"the checkpoint log ends at event {covered}" if log.latest is not None else (
        "the checkpoint log is missing" if not log_path.exists() else "the checkpoint log holds no checkpoint of this store")
    out = []
    for event in events:
        if event.action in _EVIDENCE:
            if not log.witnesses(event.seq):
                out.append(_unwitnessed(event, ends))
            continue
        what = _critical(event)
        if what is not None and event.seq > covered:
            out.append(Finding(CHECK, what, f"audit event {event.seq} ({event.action}) is covered by no signed checkpoint: "
                               f"{ends}, though every signature, promotion and bundle seals one", _CUT,
                               where=f"audit event {event.seq}"))
    return out


def _unwitnessed(event: AuditEvent, ends: str) -> Finding:
    """An evidence event no signed line witnesses: appended around qmskit, or by a command that could not seal."""
    return Finding(CHECK, event.object, f"audit event {event.seq} ({event.action}) is witnessed by no signed checkpoint "
                   f"({ends}): it was appended around qmskit, or its command could not seal",
                   f"re-run `{_EVIDENCE[event.action]}` on a trusted machine (one holding the checkpoint key), and "
                   "investigate who appended the event", where=f"audit event {event.seq}")


def _orphan_rows(store: Store, events: Iterable[AuditEvent]) -> list[Finding]:
    """Promotion and bundle records whose audit event is gone: the events after a checkpoint were deleted."""
    from qms.models.records import ModelStage

    recorded = Counter((e.action, e.object if e.action == "release.bundled" else str(event_details(e).get("release_id")))
                       for e in events if _critical(e) is not None)
    with store.reader() as session:
        rows = [("release.bundled", f"release:{r.version}", f"bundle of release:{r.version}")
                for r in session.exec(select(ReleaseStep).where(ReleaseStep.step == "bundled"))]
        rows += [("model.stage", str(r.release_id), f"promotion by release record {r.release_id}")
                 for r in session.exec(select(ModelStage).where(ModelStage.stage == _PROMOTED))]
    out = []
    for action, key, what in rows:
        if recorded[(action, key)] > 0:
            recorded[(action, key)] -= 1
            continue
        out.append(Finding(CHECK, what, f"the record has no {action} audit event: events after the last checkpoint "
                           "were deleted", "restore the store and the checkpoint log from backup and investigate"))
    return out


def _unrecorded(bundle: Path, release: str, events: Iterable[AuditEvent]) -> list[Finding]:
    """A bundle on disk that no release.bundled event records: the event (and its row) was deleted."""
    if any(e.action == "release.bundled" and e.object == f"release:{release}" for e in events):
        return []
    return [Finding(CHECK, str(bundle), f"the bundle of release {release} is recorded by no release.bundled audit "
                    "event: the events after the last checkpoint were deleted",
                    "restore the store and the checkpoint log from backup and investigate")]


def _carried(records_dir: Path, store_id: str, trusted: Ed25519PublicKey | None, log: checkpoint_log.LogState,
             pins: dict[int, str], events: Sequence[AuditEvent]) -> tuple[list[Finding], int]:
    """Each bundle's checkpoint: by the trusted key, no newer than the log's latest, and pinned into the chain."""
    out: list[Finding] = []
    carried = carried_checkpoints(records_dir)
    for c in carried:
        where = str(c.bundle)
        if c.checkpoint is None:
            out.append(Finding(CHECK, where, str(c.problem), "a bundle qmskit wrote carries a signed checkpoint"))
            continue
        cp = c.checkpoint
        if cp.store_id != store_id:
            continue  # sealed from the project's earlier store (a move to PostgreSQL)
        out += _unrecorded(c.bundle, c.bundle.name.removesuffix(BUNDLE_SUFFIX), events)
        if trusted is None:
            out.append(Finding(CHECK, where, "the bundle carries a signed audit checkpoint, but the checkpoint key that "
                               "would verify it is missing", "restore checkpoint-key.pem (or its .pub.pem) into "
                               "QMS_HOME from backup; verifying never creates a key"))
            continue
        try:
            cp.check_signature(trusted, where)
        except QmsError as exc:
            out.append(Finding(CHECK, where, exc.message, exc.hint or ""))
            continue
        if log.latest is None or log.latest.seq < cp.seq:
            had = "has no checkpoint" if log.latest is None else f"ends at event {log.latest.seq}"
            out.append(Finding(CHECK, where, f"the bundle's signed checkpoint names audit event {cp.seq}, but the "
                               f"checkpoint log {had}: the log's tail was cut or the log deleted", _CUT))
        if pins.get(cp.seq, cp.head_hash) != cp.head_hash:
            out.append(Finding(CHECK, where, f"the bundle's checkpoint and the log's disagree about audit event {cp.seq}: "
                               "one of them was forged", _CUT))
            continue
        pins[cp.seq] = cp.head_hash
    return out, len(carried)


def check(store: Store, records_dir: Path, trusted: Ed25519PublicKey | None) -> Coverage:
    """Read the log, pin the chain with it and every bundle's checkpoint, and require every critical event covered."""
    log_path = records_dir / checkpoint_log.LOG_FILE
    log = checkpoint_log.read(log_path, store.store_id, trusted)
    pins = dict(log.pins)
    findings = list(log.findings)
    events = _events(store)
    from_bundles, bundles = _carried(records_dir, store.store_id, trusted, log, pins, events)
    if not log.findings:  # an unreadable log covers nothing; its own finding says so
        findings += _uncovered(events, log, log_path)
    findings += from_bundles + _orphan_rows(store, events)
    report = audit.verify(store, pins=pins)
    return Coverage(report, log, findings, report.events + log.lines + bundles)
