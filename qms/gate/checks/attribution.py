"""Attributable actions (21 CFR 11.10(e), #14 item 7): the reviews the trace stands on and this release's evidence events name authenticated identities.

A link's review fingerprint clears a suspect link, so the last review that set the
fingerprint a link carries must be by an identity proven with its passphrase: one by an
unverified name is refused (review it again with an unlocked session). Every other event
that makes this release's evidence is refused when its actor is unverified, from the later
of the previous release's bundle and the first enrolment: from then on a command refuses
to run without a session, so such an event was forced in or allowed by
`require_authenticated_actor = false`. A project with no enrolled identity has every such
event reported (it cannot sign a release either).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, func, or_
from sqlmodel import col, select

from qms.actors import UNVERIFIED, is_unverified
from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.policy import Criterion
from qms.store.records import AuditEvent
from qms.traceability.review import latest_reviews

__all__ = ["ActionsAttributed", "EVIDENCE_ACTIONS"]

EVIDENCE_ACTIONS = ("deid.", "dataset.", "model.", "protocol.", "validation.", "test.", "trace.", "release.",
                    "tool.validate")
"""Audit actions (prefixes) that make or change a release's evidence."""

_UNLOCK = "unlock your identity (`qms session unlock USER`)"


class ActionsAttributed(Criterion[GateContext]):
    name = "attribution"
    title = "link reviews and this release's evidence events are by authenticated identities"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        out: list[Finding] = []
        reviews = latest_reviews(ctx.store)
        examined = 0
        for item in ctx.trace.design.items.values():
            for link in item.links:
                last = reviews.get((item.id, link.parent))
                if link.reviewed is None or last is None or last.fingerprint != link.reviewed:
                    continue
                examined += 1
                if is_unverified(last.actor):
                    out.append(Finding(self.name, item.id, f"the link to {link.parent} was last reviewed by "
                                       f"{last.actor}, not an authenticated identity", where=f"{item.file}:{link.line}",
                                       hint=f"{_UNLOCK}, then `qms trace review {item.id}`"))
        evidence = and_(col(AuditEvent.seq) > self._since(ctx), col(AuditEvent.action) != "trace.review",  # judged above
                        or_(*(col(AuditEvent.action).startswith(p) for p in EVIDENCE_ACTIONS)))
        with ctx.store.reader() as session:
            examined += session.exec(select(func.count()).select_from(AuditEvent).where(evidence)).one()
            events = list(session.exec(select(AuditEvent).where(evidence, col(AuditEvent.actor).startswith(UNVERIFIED))
                                       .order_by(col(AuditEvent.seq))))
        for e in events:
            out.append(Finding(self.name, e.object, f"audit event {e.seq} ({e.action}) names {e.actor}, not an "
                               "authenticated identity", hint=f"{_UNLOCK} and do it again: the trail must name who acted"))
        return out, examined

    @staticmethod
    def _since(ctx: GateContext) -> int:
        """The event this release's window begins after: the previous release's bundle or the first enrolment."""
        with ctx.store.reader() as session:
            bundled = session.exec(select(func.max(AuditEvent.seq)).where(
                AuditEvent.action == "release.bundled", AuditEvent.object != f"release:{ctx.plan.version}")).first()
            enrolled = session.exec(select(func.min(AuditEvent.seq)).where(AuditEvent.action == "user.add")).first()
        return max(int(bundled or 0), int(enrolled or 0))
