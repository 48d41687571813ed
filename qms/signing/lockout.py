"""Locking an identity after repeated wrong passphrases (21 CFR 11.300(d): attempts at unauthorised use).

The count is read from the audit trail itself: every wrong passphrase is an event
(`signature.refused`), so the lock cannot be reset by editing a counter. An identity with
`MAX_FAILURES` wrong passphrases within the last `WINDOW` is locked (a sliding window: it
opens again once the oldest of them is older than `WINDOW`); the lock and every attempt
while locked are audited. Each refusal and lock seals a signed checkpoint at once
(`qms.checkpoint_log.after_critical`), and the lock is read only from a chain that still
holds the log's latest checkpoint (`qms.checkpoint_log.guard`): deleting the refusals after
the fact breaks a pinned event, and nothing unlocks over that break.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from qms import audit, checkpoint_log
from qms.signing.errors import SigningError
from qms.store import Store

__all__ = ["FAILED", "IdentityLocked", "LOCKED", "MAX_FAILURES", "WINDOW", "check_not_locked", "record_failure"]

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
FAILED = "signature.refused"
LOCKED = "identity.locked"


class IdentityLocked(SigningError):
    """Too many wrong passphrases: the identity signs and unlocks nothing until the window has passed."""


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _failures(store: Store, user_id: str, now: datetime) -> list[str]:
    target = f"user:{user_id}"
    events = audit.log(store, action=FAILED, object_prefix=target, since=_stamp(now - WINDOW))
    return [e.time for e in events if e.object == target]


def check_not_locked(store: Store, user_id: str, now: datetime) -> None:
    """Refuse (and audit the attempt) while the identity is locked, or while the chain the lock is read from lost
    checkpointed events; nothing is decrypted."""
    checkpoint_log.guard(store)
    failures = _failures(store, user_id, now)
    if len(failures) >= MAX_FAILURES:
        until = datetime.fromisoformat(failures[-MAX_FAILURES].replace("Z", "+00:00")) + WINDOW
        audit.record(store, audit.EventSpec(user_id, LOCKED, f"user:{user_id}", details={
            "reason": "attempt while locked", "failures": len(failures), "until": _stamp(until)}))
        checkpoint_log.after_critical(store)
        raise IdentityLocked(f"identity {user_id} is locked after {len(failures)} wrong passphrases",
                             where=f"user:{user_id}", hint=f"try again after {_stamp(until)}; the attempts are audited")


def record_failure(store: Store, user_id: str, certificate: str, now: datetime) -> None:
    """Audit one wrong passphrase (the one that reaches the limit also audits the lock) and checkpoint it."""
    audit.record(store, audit.EventSpec(user_id, FAILED, f"user:{user_id}",
                                        details={"reason": "wrong passphrase", "certificate": certificate}))
    count = len(_failures(store, user_id, now))
    if count == MAX_FAILURES:
        audit.record(store, audit.EventSpec(user_id, LOCKED, f"user:{user_id}", details={
            "reason": f"{count} wrong passphrases within {int(WINDOW.total_seconds() // 60)} minutes", "failures": count}))
    checkpoint_log.after_critical(store)  # the refusal (and the lock) are pinned before the caller hears of them
