"""Step 6 of `bundle verify`: every signature by someone the approved roster and the plan allow, duties separated.

`release.json` only describes the release; authority comes from the signing roster the
bundle carries, which a quality person approved with a certificate the configured CA issued
(`qms.signing.authority`), and from the release plan (which chooses among the roster's
identities and states whether author, reviewer and approver must be distinct people).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from qms.errors import QmsError
from qms.findings import Finding
from qms.release.bundle import ENVELOPE, PLAN, ROLES, ROSTER, ROSTER_APPROVAL
from qms.release_plan import shared_duties
from qms.signing.authority import check_approval
from qms.signing.meaning import SignatureMeaning
from qms.signing.roster import MEANING_OF, Duty, IdentityKind, Roster
from qms.signing.status import SignatureStatus
from qms.signing.trust import Trust

__all__ = ["authority_findings"]

_JUDGED = frozenset({SignatureMeaning.REVIEWED.value, SignatureMeaning.APPROVED.value})


def _finding(check: str, item: str, reason: str, hint: str = "") -> Finding:
    return Finding(f"bundle.{check}", item, reason, hint, where=item)


def _plan(data: bytes | None) -> dict[str, Any] | None:
    try:
        doc = json.loads(data or b"")
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("signatures"), dict) else None


def _seal(roster: Roster, plan: dict[str, Any], seal: SignatureStatus) -> list[Finding]:
    """The manifest is sealed by an identity with the seal duty, or by an approver the plan names; a service never judges."""
    entry = roster.identities.get(seal.user_id or "")
    approver = entry is not None and entry.may(Duty.APPROVER) and seal.user_id in plan["signatures"].get("approver", [])
    if entry is None or not (entry.may(Duty.SEAL) or approver):
        return [_finding("authority", "manifest.dsse.json", f"the bundle is sealed by {seal.user_id}, whom the roster "
                         "does not allow to seal it", "the roster's seal duty, or an approver of the release, seals")]
    if entry.kind is IdentityKind.SERVICE and seal.meaning in _JUDGED:
        return [_finding("authority", "manifest.dsse.json", f"the service identity {seal.user_id} sealed the bundle as "
                         f"{seal.meaning}: a service never reviews or approves")]
    if entry.kind is IdentityKind.SERVICE:
        # The seal alone covers release.json, data/, the HTML and the checkpoint: under a service's seal no person
        # answers for them, so a service may transport a bundle but its seal proves nothing about the evidence.
        return [_finding("authority", "manifest.dsse.json", f"the bundle is sealed by the service identity "
                         f"{seal.user_id}: its data, HTML and release record are then approved by no person",
                         "the release's approver seals the bundle (`qms release sign --meaning approved`)")]
    return []


def _signature(roster: Roster, plan: dict[str, Any], name: str, sig: SignatureStatus) -> list[Finding]:
    """One PDF role signature: the meaning of its role, allowed by the roster for this document and named by the plan."""
    role = str(sig.field)
    duty = Duty(role)
    out = []
    if sig.meaning != MEANING_OF[duty].value:
        out.append(_finding("roles", name, f"field {role} is signed as {sig.meaning!r}, not {MEANING_OF[duty].value!r}"))
    problem = roster.problem(sig.user_id, duty, PurePosixPath(name).stem)
    if problem is not None:
        out.append(_finding("roles", name, f"field {role}: {problem}", "the approved signing roster decides who signs what"))
    if sig.user_id not in plan["signatures"].get(role, []):
        out.append(_finding("roles", name, f"field {role} signed by {sig.user_id}, whom the release plan does not name "
                            f"as {role}"))
    return out


def _sealed_by(files: dict[str, bytes], trust: Trust) -> datetime | None:
    """The seal's trusted time: the RFC 3161 token over the manifest signature, which lists the roster approval's hash."""
    from qms.signing.dsse import Envelope
    from qms.signing.timestamp import check_token

    try:
        doc = json.loads(files[ENVELOPE])
        token = base64.b64decode(str(doc["timestamp"]), validate=True)
        check = check_token(token, Envelope.from_json(doc["envelope"], ENVELOPE).sig, trust, ENVELOPE)
    except (ValueError, KeyError, TypeError, QmsError):
        return None
    return check.time if check.ok else None


def authority_findings(files: dict[str, bytes], trust: Trust, pdf_signatures: Sequence[tuple[str, SignatureStatus]],
                       seal: SignatureStatus) -> list[Finding]:
    """Judge the seal and every role signature against the bundle's approved roster and plan (never release.json)."""
    if ROSTER not in files or ROSTER_APPROVAL not in files or PLAN not in files:
        return [_finding("authority", ROSTER, f"the bundle lacks {ROSTER}, {ROSTER_APPROVAL} or {PLAN}: "
                         "nothing says who may sign it", "seal the release with a current qmskit")]
    try:
        approval = json.loads(files[ROSTER_APPROVAL])
    except ValueError:
        approval = None
    sealed = _sealed_by(files, trust) if seal.ok and seal.time_trusted else None
    roster, problems = check_approval(files[ROSTER], approval, trust, ROSTER, proven_by=sealed)
    plan = _plan(files[PLAN])
    out = [_finding("roster", ROSTER, p, "a quality person, certified as quality by the CA, approves the roster")
           for p in problems]
    if plan is None:
        out.append(_finding("authority", PLAN, "the release plan is unreadable"))
    if roster is None or plan is None:
        return out
    out += _seal(roster, plan, seal)
    holders: dict[str, set[str]] = {}
    for name, sig in pdf_signatures:
        if sig.field in ROLES:
            out += _signature(roster, plan, name, sig)
            holders.setdefault(str(sig.field), set()).add(str(sig.user_id))
    if plan.get("distinct_people", True):
        for user, roles in shared_duties(holders).items():
            out.append(_finding("duties", PLAN, f"{user} signed as {' and '.join(roles)}: author, reviewer and approver "
                                f"must be distinct people (safety class {plan.get('safety_class')})",
                                "the plan's separation_of_duties decides; one person holds one role"))
    return out
