"""OQ: a record and its audit trail round trip on the user's store backend (QMS-REQ-002, QMS-RC-002).

Events appended through the library verify as an intact chain with the expected head; an
edit of a stored event is refused by the database itself (append-only, 21 CFR 11.10(e)).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from qms import audit
from qms.audit import EventSpec
from qms.findings import Finding
from qms.selftest.checks import Evidence
from qms.selftest.scratch import scratch_store

__all__ = ["check_records"]

_EVENTS = 5


def check_records(check: str, store_url: str | None, workspace: Path) -> tuple[list[Finding], Evidence]:
    findings: list[Finding] = []
    with scratch_store(store_url, workspace) as store:
        written = [audit.record(store, EventSpec("qms.selftest", "selftest.event", f"selftest:{n}",
                                                 after=audit.state_digest({"n": n}), details={"n": n}))
                   for n in range(1, _EVENTS + 1)]
        report = audit.verify(store)
        if not report.intact or report.events != _EVENTS:
            findings.append(Finding(check, "audit", f"a chain written through the library does not verify: {report.to_json()}",
                                    "the store or its driver changes what is written; do not use this environment"))
        if report.head_hash != written[-1].hash or report.head_seq != _EVENTS:
            findings.append(Finding(check, "audit", "the chain's head is not the last event written",
                                    "the store loses or reorders writes; do not use this environment"))
        try:
            with store.transaction() as session:
                session.execute(text("UPDATE audit_event SET actor = 'someone.else' WHERE seq = 2"))
            findings.append(Finding(check, "audit_event", "the database let a stored audit event be edited",
                                    "the append-only triggers are missing: re-create the store with `qms init`"))
        except SQLAlchemyError:
            pass  # refused, as it must be
        if not audit.verify(store).intact:
            findings.append(Finding(check, "audit", "the chain no longer verifies after a refused edit"))
        backend = store.engine.dialect.name
    return findings, {"backend": backend, "events": str(_EVENTS), "head": report.head_hash[:16]}
