"""Records that grant power, cross-checked against the audit events that created them.

Users, their roles and certificates, revocations, protocol locks and signatures (a
signing roster is in force through its approval signature) decide who may sign and what a
run must match; link reviews (design and test links), model versions and their stages,
validation and test runs decide what the gate passes. Triggers keep their tables
append-only, but someone with raw database access can drop the triggers and edit a row
(raise a role, delete a revocation, clear a suspect link) without touching the audit chain. Every such row is written in the same transaction as
its audit event, and the event records what the row holds; so each row must match an
event and each event a row. A row that matches none was edited or inserted outside
qmskit, an event that matches no row lost its row.

An event recorded before its kind's event held all of its row (`qms.gate.record_events`) is
"legacy": its row is matched on the fields the event does hold (`Grant.partial`). A test run is
matched by its outcome counts here; which test had which outcome, by `qms.gate.results`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, func, select

from qms.findings import Finding
from qms.gate import record_events
from qms.hashing import digest_of, sha256_hex
from qms.models.records import ModelStage, ModelVersion
from qms.signing.records import SignatureRecord, SigningCertificate, SigningRevocation, SigningUser
from qms.signing.trust import SUPERSEDED
from qms.store import Store
from qms.store.records import AuditEvent
from qms.traceability.records import RESULT_TABLE, LinkReview, TestRunRecord
from qms.validation.records import ProtocolLock, ValidationRun

__all__ = ["CHECK", "Grant", "RESTORE_HINT", "event_details", "grant_findings"]

CHECK = "audit"
RESTORE_HINT = "restore the table from backup and investigate who changed it (21 CFR 11.10(e))"
"""What to do about a row that contradicts the audit trail."""
_ACTIONS = ("user.add", "user.certificate", "user.rotate-key", "user.revoke", "protocol.lock", "signature.apply",
            "trace.review", "trace.review-test", "model.register", "model.stage", "validation.run", "test.run",
            *record_events.ACTIONS)


@dataclass(frozen=True, order=True)
class Grant:
    """What one row grants, in the terms its audit event records: table, whom or what, and the content.

    `where` (the row id, or the event's sequence number) names it in a finding; it takes no part in matching.
    A row's `partial` is its content in the terms of a legacy event of its kind (one that holds fewer of its
    fields); a legacy event's grant has `legacy` set and its `content` in those terms.
    """

    table: str
    key: str
    content: str
    where: str = field(default="", compare=False)
    partial: str = field(default="", compare=False)
    legacy: bool = field(default=False, compare=False)


def event_details(event: AuditEvent) -> dict[str, Any]:
    """An event's details as a dict ({} when they are not a JSON object)."""
    try:
        data = json.loads(event.details)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _from_events(events: Sequence[AuditEvent]) -> Iterator[Grant]:
    """The grants each event says it made (a rotation supersedes the old certificate unless it was revoked already)."""
    revoked = {event_details(e).get("certificate") for e in events if e.action == "user.revoke"}
    for e in events:
        d = event_details(e)
        if e.action == "user.add":
            yield Grant("signing_user", e.object, digest_of({"name": d.get("name"), "role": d.get("role")}))
        elif e.action in ("user.certificate", "user.rotate-key"):
            yield Grant("signing_certificate", e.object, str(e.after_digest))
            if d.get("supersedes") and d["supersedes"] not in revoked:
                yield Grant("signing_revocation", f"{e.object} certificate {d['supersedes']}", SUPERSEDED)
        elif e.action == "user.revoke":
            yield Grant("signing_revocation", f"{e.object} certificate {d.get('certificate')}",
                        digest_of({"reason": d.get("reason"), "revoked_at": d.get("revoked_at")}))
        elif e.action == "protocol.lock":
            yield Grant("validation_protocol_lock", e.object, str(e.after_digest))
        elif e.action == "signature.apply":
            yield Grant("signature", f"signature:{d.get('signature')}", _signed(
                e.object, e.after_digest, d.get("user_id"), d.get("meaning"), d.get("signed_at"), d.get("certificate"),
                d.get("kind"), d.get("output_sha256"), d.get("interactive")))
        else:
            yield from _evidence_from_event(e, d)


def _evidence_from_event(e: AuditEvent, d: dict[str, Any]) -> Iterator[Grant]:
    """The verdict-deciding rows an event says it wrote: link reviews, model versions and stages, validation and test runs."""
    where = f"audit event {e.seq}"
    if e.action in ("trace.review", "trace.review-test"):
        design = e.action == "trace.review"
        item, changes = (d.get("item"), d.get("reviewed")) if design else (d.get("test"), d.get("changes"))
        for parent, change in (changes or {}).items():
            before, after = (change.get("from"), change.get("to")) if design else (change.get("before"), change.get("after"))
            yield Grant("link_review", f"{item} -> {parent}", _reviewed(e.actor, after, before), where)
    elif e.action == "model.register":
        yield Grant("model_version", e.object, str(d.get("digest")), where)
        yield Grant("model_stage", e.object, _staged(e.actor, "development", "registered", None), where)
    elif e.action == "model.stage":
        yield Grant("model_stage", e.object, _staged(e.actor, d.get("to"), d.get("reason"), d.get("release_id")), where)
    elif e.action == "validation.run":
        yield Grant("validation_run", e.object, _validated(e.actor, e.after_digest, d.get("verdict"), d.get("protocol"),
                                                          d.get("model"), d.get("manifest"), d.get("predictions_sha256")),
                    where)
    elif e.action == "test.run":
        yield Grant("test_run", e.object, _tested(e.actor, e.after_digest, d.get("device"), d.get("commit"),
                                                  d.get("dirty"), d.get("outcomes"), d.get("tests"), d.get("unlinked")),
                    where)
    else:
        for table, key, content, legacy in record_events.from_event(e, d):
            yield Grant(table, key, content, where, legacy=legacy)


def _tested(*fields: Any) -> str:
    """A test run's content: actor, report digest, device, commit, dirty, outcome counts, tests, unlinked tests."""
    return digest_of(list(fields))


def _reviewed(actor: Any, fingerprint: Any, previous: Any) -> str:
    """A link review's content: who reviewed it, against which fingerprint, from which."""
    return digest_of([actor, fingerprint, previous])


def _staged(actor: Any, stage: Any, reason: Any, release_id: Any) -> str:
    """A stage change's content: who moved the model, to which stage, why, on which release."""
    return digest_of([actor, stage, reason, release_id])


def _validated(*fields: Any) -> str:
    """A validation run's content: actor, result digest, verdict, protocol, model, manifest, predictions."""
    return digest_of(list(fields))


def _signed(*fields: Any) -> str:
    """A signature's content as its event records it: object, bytes, signer, meaning, time, key, kind, output, interactive."""
    return digest_of(list(fields))


def _lock_statement(lock: ProtocolLock) -> dict[str, Any]:
    """The lock statement the row stands for (`qms.validation.lock.LockInputs.statement`), rebuilt from the row."""
    return {"protocol": lock.key, "text_sha256": lock.text_sha256, "content_sha256": lock.content_sha256,
            "model_ref": lock.model_ref, "model_sha256": lock.model_sha256, "manifest_sha256": lock.manifest_sha256,
            "training_manifests": json.loads(lock.training_manifests), "locked_by": lock.locked_by}


def _revocation(r: SigningRevocation) -> Grant:
    key = f"user:{r.user_id} certificate {r.fingerprint}"
    if r.reason == SUPERSEDED:
        return Grant("signing_revocation", key, SUPERSEDED)
    return Grant("signing_revocation", key, digest_of({"reason": r.reason, "revoked_at": r.revoked_at}))


def _signature(r: SignatureRecord) -> Grant:
    meaning = r.reason if r.reason is not None else r.meaning  # the words the event records (`Meaning.text`)
    return Grant("signature", f"signature:{r.id}", _signed(r.object_ref, r.sha256, r.user_id, meaning, r.signed_at,
                                                           r.cert_fingerprint, r.kind, r.output_sha256, r.interactive))


def _validation_run(r: ValidationRun) -> Grant:
    # the stored result itself (its canonical JSON, as `validation.run` hashed it), so an edited metric or verdict
    # in it is caught, not only an edited recorded digest
    return Grant("validation_run", f"validation:{r.id}", _validated(
        r.actor, sha256_hex(r.result.encode()), r.verdict, r.protocol_key, r.model_ref, r.manifest_sha256,
        r.predictions_sha256), f"row {r.id}")


def _test_runs(session: Session) -> Iterator[Grant]:
    """Each test run with its results' outcome counts (one grouped query), as its `test.run` event counts them.

    Which test had which outcome is checked against the event's results digest for the runs a release relies on
    (`qms.gate.results`): reading every result ever recorded on each `qms verify` would grow with the project's age.
    """
    counts: dict[str, dict[str, int]] = {}
    outcomes = select(RESULT_TABLE.c.run_id, RESULT_TABLE.c.outcome, func.count()).group_by(
        RESULT_TABLE.c.run_id, RESULT_TABLE.c.outcome)
    for run_id, outcome, n in session.execute(outcomes):
        counts.setdefault(run_id, {})[outcome] = n
    for r in session.exec(select(TestRunRecord)).all():
        runs = counts.get(r.id, {})
        yield Grant("test_run", f"test-run:{r.id}", _tested(r.actor, r.report_digest, r.device, r.commit, r.dirty,
                                                           runs, sum(runs.values()), len(json.loads(r.unlinked))),
                    f"row {r.id}")


def _each(query: Any, grant: Callable[[Any], Grant]) -> Callable[[Session], Iterator[Grant]]:
    """The grants of every row `query` returns."""
    return lambda session: (grant(row) for row in session.exec(query).all())


_ROWS: tuple[Callable[[Session], Iterator[Grant]], ...] = (
    _each(select(SigningUser), lambda u: Grant("signing_user", f"user:{u.user_id}", digest_of({"name": u.name, "role": u.role}))),
    _each(select(SigningCertificate), lambda c: Grant("signing_certificate", f"user:{c.user_id}", c.fingerprint)),
    _each(select(SigningRevocation), _revocation),
    _each(select(ProtocolLock), lambda lock: Grant("validation_protocol_lock", f"protocol:{lock.key}", digest_of(_lock_statement(lock)))),
    _each(select(SignatureRecord), _signature),
    _each(select(LinkReview), lambda r: Grant("link_review", f"{r.item_id} -> {r.parent_id}",
                                              _reviewed(r.actor, r.fingerprint, r.previous), f"row {r.id}")),
    _each(select(ModelVersion), lambda v: Grant("model_version", f"model:{v.ref}", v.digest, f"row {v.id}")),
    _each(select(ModelStage, ModelVersion).join(ModelVersion, col(ModelStage.model_version_id) == col(ModelVersion.id)),
          lambda sv: Grant("model_stage", f"model:{sv[1].ref}",
                           _staged(sv[0].actor, sv[0].stage, sv[0].reason, sv[0].release_id), f"row {sv[0].id}")),
    _each(select(ValidationRun), _validation_run),
    _test_runs,
)


def grant_findings(store: Store) -> tuple[list[Finding], int]:
    """Every grant row without its event and every grant event without its row; and how many rows were examined.

    Rows are matched on their full content first; a row left over may match a legacy event on the fields it holds.
    """
    with store.reader() as session:
        events = session.exec(select(AuditEvent).where(col(AuditEvent.action).in_(_ACTIONS))).all()
        made = list(_from_events(events))
        present: Counter[Grant] = Counter()
        for rows in _ROWS:
            present.update(rows(session))
        for more in record_events.ROWS:
            present.update(Grant(*g) for g in more(session))
    recorded = Counter(g for g in made if not g.legacy)
    unmatched_rows, lost_rows = present - recorded, recorded - present
    partly = Counter((g.table, g.key, g.content) for g in made if g.legacy)
    for g in sorted(unmatched_rows.elements()):
        if g.partial and partly[(g.table, g.key, g.partial)] > 0:
            partly[(g.table, g.key, g.partial)] -= 1
            unmatched_rows[g] -= 1
    lost_rows.update(Grant(table, key, content) for (table, key, content), n in partly.items() for _ in range(n))
    return _findings(+unmatched_rows, lost_rows), sum(present.values())


def _findings(unmatched_rows: Counter[Grant], lost_rows: Counter[Grant]) -> list[Finding]:
    lost_keys = {(g.table, g.key) for g in lost_rows}
    out = []
    for g in sorted(unmatched_rows):
        how = ("differs from what its audit event recorded: the row was edited" if (g.table, g.key) in lost_keys
               else "has no audit event: the row was inserted outside qmskit")
        out.append(Finding(CHECK, _named(g), f"the {g.table} row {how}",
                           RESTORE_HINT))
    edited = {(g.table, g.key) for g in unmatched_rows}
    for g in sorted(lost_rows):
        if (g.table, g.key) not in edited:
            out.append(Finding(CHECK, _named(g), f"the audit trail records this {g.table} row, but the "
                               "row is missing: it was deleted", "restore the table from backup and investigate"))
    return out


def _named(g: Grant) -> str:
    """The finding's item: table, what the row is about and, where known, its row id or event."""
    return f"{g.table} {g.key}" + (f" ({g.where})" if g.where else "")
