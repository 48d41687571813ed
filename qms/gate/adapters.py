"""The gate's one point of contact with the other capabilities' APIs.

Each function reads one capability (traceability, validation, models, signing) and returns
plain facts; when a capability or an API is missing it raises, so the check using it fails
closed with the reason.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qms.config import Project
from qms.errors import QmsError
from qms.store import Store


def _api(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise QmsError(f"{module}.{name} is not available in this installation", where=module,
                       hint="install the qmskit capability this check relies on") from exc


def trace(project: Project, store: Store) -> Any:
    """The traceability report of the project's design items and test results."""
    return _api("qms.traceability", "trace")(project, store)


DESIGN_GAPS = frozenset({"parse", "encoding", "missing_field", "bad_field", "unknown_field", "id_prefix", "duplicate_id",
                         "dangling_link", "cycle", "link_type", "suspect_link"})
RISK_GAPS = frozenset({"residual_risk", "hazard_unverified"})
_KNOWN = DESIGN_GAPS | RISK_GAPS
VERIFICATION = "verification"
"""Every other blocking gap (no test, failed, skipped, stale, orphan...) and any kind unknown here."""


@dataclass(frozen=True)
class Gap:
    """One blocking gap of the trace report, in the gate's words."""

    kind: str
    item: str
    reason: str
    hint: str

    @property
    def group(self) -> str:
        return "design" if self.kind in DESIGN_GAPS else "risk" if self.kind in RISK_GAPS else VERIFICATION


def trace_gaps(report: Any) -> list[Gap]:
    """The report's blocking gaps (warnings do not block, as the traceability capability decides)."""
    return [Gap(g.check.value, g.item or g.where or g.check.value, f"{g.where}: {g.reason}" if g.where else g.reason, g.hint)
            for g in report.blocking]


def trace_size(report: Any, group: str) -> int:
    """How many design items the group examined."""
    types = {"design": None, "risk": {"hazard"}, VERIFICATION: {"requirement", "risk_control", "architecture"}}[group]
    return sum(1 for r in report.rows.values() if types is None or r.item.type.value in types)


@dataclass(frozen=True)
class RunFacts:
    """A validation run of a locked protocol, as the gate needs it."""

    id: str
    model: str
    passed: bool
    leakage: int
    started_at: str
    failed_criteria: tuple[str, ...]


@dataclass(frozen=True)
class ProtocolFacts:
    id: str
    locked: bool
    locked_at: str | None
    lock_signed: bool
    runs: tuple[RunFacts, ...]


def protocol_facts(project: Project, store: Store, protocol_id: str) -> ProtocolFacts:
    """The latest lock of one protocol and its runs, read from the validation capability's records."""
    from sqlmodel import col, select

    records = importlib.import_module("qms.validation.records")
    lock_t, run_t = records.ProtocolLock, records.ValidationRun
    with store.reader() as session:
        locks = list(session.exec(select(lock_t).where(lock_t.protocol_id == protocol_id).order_by(col(lock_t.created_at))))
        if not locks:
            return ProtocolFacts(protocol_id, False, None, False, ())
        lock = locks[-1]
        runs = list(session.exec(select(run_t).where(run_t.lock_id == lock.id).order_by(col(run_t.created_at))))
    return ProtocolFacts(protocol_id, True, lock.created_at.isoformat(), _lock_signed(store, lock),
                         tuple(_run_facts(r) for r in runs))


def _run_facts(run: Any) -> RunFacts:
    result = json.loads(run.result)
    overlap = result.get("independence", {}).get("overlap", {})
    leakage = max((int(v) for v in overlap.values()), default=0) if isinstance(overlap, dict) else 0
    return RunFacts(run.id, run.model_ref, run.verdict == "pass", leakage, run.created_at.isoformat(),
                    tuple(str(r) for r in result.get("reasons", [])))


def validation_runs(store: Store, protocol_id: str) -> tuple[Any, Any | None]:
    """The latest lock record of a protocol and its latest run record (for the validation report)."""
    from sqlmodel import col, select

    records = importlib.import_module("qms.validation.records")
    lock_t, run_t = records.ProtocolLock, records.ValidationRun
    with store.reader() as session:
        lock = session.exec(select(lock_t).where(lock_t.protocol_id == protocol_id)
                            .order_by(col(lock_t.created_at).desc())).first()
        if lock is None:
            raise QmsError("the protocol is not locked", where=protocol_id)
        run = session.exec(select(run_t).where(run_t.lock_id == lock.id).order_by(col(run_t.created_at).desc())).first()
    return lock, run


def _lock_signed(store: Store, lock: Any) -> bool:
    """The lock's signature record signs exactly this lock statement and its envelope verifies."""
    if lock.signature_id is None:
        return False
    from qms.signing import SignatureRecord, Trust
    from qms.signing.dsse import Envelope

    with store.reader() as session:
        rec = session.get(SignatureRecord, lock.signature_id)
    if rec is None or rec.sha256 != lock.lock_sha256:
        return False
    cert = Trust.from_store(store).certificate(rec.cert_fingerprint)
    return cert is not None and Envelope.from_text(rec.envelope, f"signature:{rec.id}").verify(cert)


def signer_problem(store: Store, identity_dir: Path | None, user_id: str) -> str | None:
    """Why `user_id` cannot sign now (unknown, revoked, certificate not valid), or None when they can."""
    from qms.signing import SigningError, identity

    if identity_dir is None:
        return "no identity directory configured"
    try:
        ident = identity(store, identity_dir, user_id)
    except SigningError as exc:
        return exc.message
    now = datetime.now(UTC)
    if ident.revoked:
        return f"the certificate of {user_id} is revoked"
    if not ident.certificate.not_valid_before_utc <= now <= ident.certificate.not_valid_after_utc:
        return f"the certificate of {user_id} is not valid now"
    return None
