"""Declining to sign a release, with a reason: attributable (passphrase re-entered), audited, and nothing is signed.

A reviewer or approver who finds a problem says so on the record instead of simply not
signing (the browser's signing ceremony offers sign or decline). The same checks as a
signature apply first: the plan and the approved roster must allow the person in that role.
The release stays at its step; a new signature after the cause is fixed is still possible.
"""

from __future__ import annotations

from pathlib import Path

from qms import audit
from qms.config import Project
from qms.errors import QmsError
from qms.release.service import check_signer, release_dir
from qms.release_plan import load_plan
from qms.release_steps import steps
from qms.signing.meaning import Meaning, SignatureMeaning
from qms.signing.sign import unlock
from qms.signing.signatory import Signatory
from qms.store import Store
from qms.store.records import AuditEvent

__all__ = ["DECLINED", "decline"]

DECLINED = "release.declined"


def decline(project: Project, store: Store, identity_dir: Path, version: str, meaning: SignatureMeaning, signer: Signatory,
            reason: str) -> AuditEvent:
    """Record that `signer` declines to sign `version` as `meaning`, and why; the passphrase proves who declines."""
    plan = load_plan(project)
    if plan.version != version:
        raise QmsError(f"the release plan is for {plan.version}, not {version}", where=plan.source)
    if meaning not in (SignatureMeaning.REVIEWED, SignatureMeaning.APPROVED):
        raise QmsError(f"a release is reviewed or approved, not {meaning.value}")
    text = " ".join(reason.split())
    if not 3 <= len(text) <= 500:
        raise QmsError("a decline needs its reason (3 to 500 characters)", where=f"release:{version}",
                       hint="say what must change before you sign")
    history = steps(store, version)
    if not history:
        raise QmsError(f"release {version} has not been authored", where=f"release:{version}")
    documents = [p.stem for p in sorted((release_dir(project, version) / "documents").glob("*.pdf"))]
    check_signer(project, store, identity_dir, plan, meaning, signer.user_id, documents)
    unlock(store, identity_dir, signer.user_id, signer.passphrase,
           Meaning(SignatureMeaning.STATED, f"declined to sign release {version} as {meaning.value}"))
    return audit.record(store, audit.EventSpec(signer.user_id, DECLINED, f"release:{version}", details={
        "meaning": meaning.value, "reason": text, "at_step": history[-1].step}))
