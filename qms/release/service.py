"""`qms release`: author a release at a passing gate, collect review and approval, then bundle and promote.

Sequencing (21 CFR 11.10(f)) is enforced here: nothing is authored unless the gate passes;
review follows authorship and approval follows review; the bundle is written and the model
promoted only when approval is complete and the bundle verifies. Each step is a release
record with its audit event in one transaction.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from qms import atomic, audit, checkpoint, checkpoint_log
from qms.config import Project
from qms.documents.build import attachments, document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.evidence import Evidence
from qms.documents.render import Attachment, DocumentHeader, Renderer, render_all
from qms.errors import CheckFailed, QmsError
from qms.gate import context_for, evaluate
from qms.gate.checks.audit import AuditTrailIntact
from qms.gate.findings import Verdict
from qms.hashing import canonical_json, digest_of, sha256_file
from qms.models import registry
from qms.models.stages import ReleaseEvidence, promote_to_production
from qms.release import bundle as bundles
from qms.release.assembly import assemble_bundle, bundle_path, folder_digests
from qms.release.gather import gather
from qms.release_plan import ROLES, ReleasePlan, load_plan
from qms.release_steps import ReleaseStep, Step, previous_release, step_event, steps
from qms.signing.authority import approved_roster
from qms.signing.meaning import SignatureMeaning
from qms.signing.roster import Duty, load_roster
from qms.signing.signatory import Signatory
from qms.soup import to_cyclonedx
from qms.store import Store

__all__ = ["GateFailed", "StepResult", "author", "check_signer", "release_dir", "sign", "steps_in"]

ROLES_BY_STEP = {m.value: role for m, role in ROLES.items()}  # a signing step is named by its meaning
_NEXT = {None: Step.AUTHORED, Step.AUTHORED: Step.REVIEWED, Step.REVIEWED: Step.APPROVED, Step.APPROVED: Step.BUNDLED}


class GateFailed(CheckFailed):
    """The release gate did not pass: nothing was rendered, signed or recorded."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"the release gate failed with {len(verdict.findings)} finding(s)", where="qms verify",
                         hint="run `qms verify` and close every gap first")
        self.verdict = verdict


@dataclass(frozen=True)
class StepResult:
    step: ReleaseStep
    folder: Path
    bundle: Path | None = None
    report: bundles.BundleReport | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.step.to_json(), "folder": str(self.folder), "bundle": str(self.bundle) if self.bundle else None,
                "bundle_report": self.report.to_json() if self.report else None}


def release_dir(project: Project, version: str) -> Path:
    return project.records_dir / "releases" / version


def _record(store: Store, plan: ReleasePlan, step: Step, signer: Signatory, commit: str, verdict_digest: str,
            folder: Path, soup: dict[str, str], bundle_sha256: str | None = None) -> ReleaseStep:
    """The step's row names the signer; its audit event names who ran the command (they may differ)."""
    docs = folder_digests(folder)
    actor = signer.run_by
    row = ReleaseStep(version=plan.version, step=step.value, actor=signer.user_id, commit=commit, model=plan.model_ref,
                      plan_digest=digest_of(plan.to_json()), verdict_digest=verdict_digest,
                      documents=canonical_json(docs).decode(), soup=canonical_json(soup).decode(), bundle_sha256=bundle_sha256)
    with store.transaction() as session:
        prior = steps_in(session, plan.version)
        if _NEXT[Step(prior[-1].step) if prior else None] is not step:
            raise QmsError(f"release {plan.version} is not ready for step {step.value}", where=f"release:{plan.version}")
        row.supersedes = prior[-1].id if prior else None
        session.add(row)
        session.flush()
        audit.append(session, step_event(row, actor, signer.invoked_by))
    return row


def steps_in(session: Session, version: str) -> list[ReleaseStep]:
    return list(session.exec(select(ReleaseStep).where(ReleaseStep.version == version)
                             .order_by(col(ReleaseStep.created_at), col(ReleaseStep.id))))


def check_signer(project: Project, store: Store, identity_dir: Path, plan: ReleasePlan, meaning: SignatureMeaning,
                 user_id: str, documents: Iterable[str]) -> None:
    """Refuse a signer the plan does not name, the approved roster does not allow, or who already holds another role."""
    role = ROLES[meaning]
    if user_id not in plan.allowed(meaning):
        raise QmsError(f"{user_id} may not sign release {plan.version} as {role}", where=plan.source,
                       hint=f"the plan allows {', '.join(plan.allowed(meaning))} (21 CFR 11.10(g))")
    roster = load_roster(project.path(plan.roster_file))
    approved_roster(store, identity_dir, roster)
    for document in documents:
        problem = roster.problem(user_id, Duty(role), document)
        if problem is not None:
            raise QmsError(problem, where=roster.source, hint="the approved signing roster decides who signs what (21 CFR 11.10(g))")
    if plan.distinct_people:
        others = {row.actor: row.step for row in steps(store, plan.version)
                  if row.step in ROLES_BY_STEP and ROLES_BY_STEP[row.step] != role}
        if user_id in others:
            raise QmsError(f"{user_id} already signed release {plan.version} as {ROLES_BY_STEP[others[user_id]]}: "
                           f"author, reviewer and approver are distinct people", where=f"release:{plan.version}",
                           hint=f"safety class {plan.safety_class}: another person signs as {role} "
                                "(the plan's separation_of_duties decides)")


def author(project: Project, store: Store, identity_dir: Path, version: str, signer: Signatory, *,
           workers: int = 1) -> StepResult:
    """Run the gate; when it passes, render every document, declare the roles, sign as author, record.

    `workers` processes render the documents (forked: a command's choice, never a threaded server's)."""
    from qms.signing.pdf import PdfToSign, RoleSpec, prepare_signature_fields, sign_pdfs  # pyHanko loads only when signing

    plan = load_plan(project)
    if plan.version != version:
        raise QmsError(f"the release plan is for {plan.version}, not {version}", where=plan.source)
    history = steps(store, version)
    if history and history[-1].step == Step.BUNDLED.value:
        raise _complete_error(project, version)
    if history:
        raise QmsError(f"release {version} is already authored", where=f"release:{version}",
                       hint="collect signatures with `qms release sign`, or plan a new version")
    _require_audit_trail(project, store, identity_dir, plan)
    check_signer(project, store, identity_dir, plan, SignatureMeaning.AUTHORED, signer.user_id,
                 [kind.value for kind in DocumentKind])
    ctx = context_for(project, store, identity_dir, plan)
    verdict = evaluate(ctx)
    if not verdict.passed:
        raise GateFailed(verdict)
    prev = previous_release(store, version)
    ev = gather(ctx, verdict, prev.commit if prev else None, prev.version if prev else None)
    folder = release_dir(project, version)
    if folder.exists():
        raise QmsError("the release folder already exists", where=str(folder), hint="move it away; nothing was changed")
    renderer = Renderer(DocumentHeader(project.config.device, project.config.manufacturer, version, 1, dict(plan.signers)))
    roles = [RoleSpec.of(ROLES[m], m, plan.allowed(m)) for m in ROLES]
    sbom = to_cyclonedx(ctx.soup_with_native, project.config.device, version)
    out: dict[str, bytes] = {"data/sbom.cdx.json": sbom.encode(), "data/evidence.json":
                             json.dumps(ev.to_json(), indent=2, sort_keys=True, default=str).encode()}
    kinds = list(DocumentKind)
    rendered = render_all(renderer, kinds, functools.partial(_document_input, ev=ev, sbom=sbom), workers=workers)
    to_sign = [PdfToSign(prepare_signature_fields(store, identity_dir, doc.pdf, roles, where=f"{kind.value}.pdf",
                                                  cells=doc.signature_cells),
                         f"release:{version}:{kind.value}", "author", f"{kind.value}.pdf")
               for kind, (doc, _) in zip(kinds, rendered, strict=True)]
    signed = sign_pdfs(store, identity_dir, signer, to_sign, SignatureMeaning.AUTHORED,
                       tsa=project.config.signing.get("tsa"), workers=workers)
    for kind, (doc, files), (pdf, _) in zip(kinds, rendered, signed, strict=True):
        out[f"documents/{kind.value}.pdf"] = pdf
        out[f"documents/{kind.value}.html"] = doc.html.encode()
        out.update({f"data/{a.name}": a.data for a in files})
    _write_folder(folder, out)
    row = _record(store, plan, Step.AUTHORED, signer, ctx.commit.sha, digest_of(verdict.to_json()), folder,
                  ctx.soup.versions())
    _seal(project, store, identity_dir)
    return StepResult(row, folder)


def _document_input(kind: DocumentKind, *, ev: Evidence, sbom: str) -> tuple[dict[str, Any], list[Attachment]]:
    """What `kind` shows: its data, and its attachments (the SBOM with the SOUP list)."""
    return document_data(kind, ev), attachments(kind, ev, sbom if kind is DocumentKind.SOUP else None)


def _seal(project: Project, store: Store, identity_dir: Path) -> None:
    """A signed checkpoint after each release-critical event (`qms.checkpoint_log`): nothing after it is uncovered."""
    checkpoint_log.seal(store, identity_dir / checkpoint.KEY_FILE, project.records_dir / checkpoint_log.LOG_FILE)


def _require_audit_trail(project: Project, store: Store, identity_dir: Path, plan: ReleasePlan) -> None:
    """Nobody signs over a broken audit trail: the gate's audit criterion, first, before any signature."""
    outcome = AuditTrailIntact().evaluate(context_for(project, store, identity_dir, plan))
    if not outcome.passed:
        raise GateFailed(Verdict((outcome,), {"release": plan.version}))


def _write_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Write every file into a temporary folder, then rename it into place: all of the release or none."""
    tmp = folder.with_name(f".{folder.name}.part")
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        for name, content in files.items():
            atomic.write_bytes(tmp / name, content)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_unchanged(folder: Path, last: ReleaseStep) -> None:
    """Refuse to sign files that differ from the ones the last step recorded."""
    now, then = folder_digests(folder), last.document_digests()
    changed = sorted(n for n in set(now) | set(then) if now.get(n) != then.get(n))
    if changed:
        raise CheckFailed(f"release files changed since the {last.step} step: {', '.join(changed[:5])}",
                          where=str(folder), hint="a signed release is never edited; start a new release version")


def _complete_error(project: Project, version: str) -> QmsError:
    """A finished release: nothing is left to author or sign; its bundle is what to verify and submit."""
    return QmsError(f"release {version} is complete: approved, bundled and its model promoted; nothing is left to sign",
                    where=f"release:{version}", hint=f"check its bundle: `qms bundle verify {bundle_path(project, version)}`; "
                    "a change is a new release: raise `version` in the release plan")


def sign(project: Project, store: Store, identity_dir: Path, version: str, meaning: SignatureMeaning,
         signer: Signatory, *, workers: int = 1) -> StepResult:
    """Add the reviewer's or approver's signature to every document; after approval, bundle and promote.

    `workers` processes verify the bundle's documents after approval (forked: see `author`)."""
    from qms.signing.pdf import PdfToSign, sign_pdfs  # pyHanko loads only when signing

    plan = load_plan(project)
    if plan.version != version:
        raise QmsError(f"the release plan is for {plan.version}, not {version}", where=plan.source)
    if meaning not in (SignatureMeaning.REVIEWED, SignatureMeaning.APPROVED):
        raise QmsError(f"a release is signed as reviewed or approved, not {meaning.value}")
    history = steps(store, version)
    if not history:
        raise QmsError(f"release {version} has not been authored", where=f"release:{version}", hint=f"run `qms release {version}`")
    if history[-1].step == Step.BUNDLED.value:
        raise _complete_error(project, version)
    _require_audit_trail(project, store, identity_dir, plan)
    wanted = Step(meaning.value)
    expected = _NEXT[Step(history[-1].step)]
    if wanted is Step.APPROVED and history[-1].step == Step.APPROVED.value:
        # approved, but bundling or promotion failed: finish it now
        check_signer(project, store, identity_dir, plan, meaning, signer.user_id, _documents(release_dir(project, version)))
        _check_promotable(store, plan)
        _check_unchanged(release_dir(project, version), history[-1])
        return _complete(project, store, identity_dir, plan, history[-1], release_dir(project, version), signer,
                         workers)
    if expected is not wanted:
        raise CheckFailed(f"release {version} is at step {history[-1].step}: the next signature is {expected.value}, "
                          f"not {wanted.value}", where=f"release:{version}",
                          hint="signatures follow the order authored, reviewed, approved (21 CFR 11.10(f))")
    check_signer(project, store, identity_dir, plan, meaning, signer.user_id, _documents(release_dir(project, version)))
    if meaning is SignatureMeaning.APPROVED:
        _check_promotable(store, plan)
    folder = release_dir(project, version)
    last = history[-1]
    _check_unchanged(folder, last)
    role = ROLES[meaning]
    paths = sorted((folder / "documents").glob("*.pdf"))
    signed = sign_pdfs(store, identity_dir, signer, [PdfToSign(p.read_bytes(), f"release:{version}:{p.stem}", role, p.name)
                                                      for p in paths], meaning,
                       tsa=project.config.signing.get("tsa"), workers=workers)
    for pdf_path, (data, _) in zip(paths, signed, strict=True):  # written only once every document is signed
        atomic.write_bytes(pdf_path, data)
    row = _record(store, plan, wanted, signer, last.commit, last.verdict_digest, folder, last.soup_versions())
    _seal(project, store, identity_dir)
    if meaning is SignatureMeaning.APPROVED:
        return _complete(project, store, identity_dir, plan, row, folder, signer, workers)
    return StepResult(row, folder)


def _documents(folder: Path) -> list[str]:
    return [p.stem for p in sorted((folder / "documents").glob("*.pdf"))]


def _check_promotable(store: Store, plan: ReleasePlan) -> None:
    """Before anyone approves: the model version is staged, so the approval can promote it."""
    stage = registry.show(store, plan.model_ref).stage.value
    if stage != "staging":
        raise CheckFailed(f"model {plan.model} is in {stage}: a release promotes a staged version", where=f"model:{plan.model}",
                          hint=f"`qms model stage {plan.model} staging` first; nothing was signed")


def _complete(project: Project, store: Store, identity_dir: Path, plan: ReleasePlan, approved: ReleaseStep, folder: Path,
              signer: Signatory, workers: int) -> StepResult:
    """Approval is complete: write the bundle (`qms.release.assembly`), verify it, promote the model, record."""
    built = assemble_bundle(project, store, identity_dir, plan, approved, folder, signer)
    try:  # no bundle without its verification and promotion: nothing is recorded as done that was not
        report = bundles.verify_bundle(built.path, built.anchors, workers=workers)
        if not report.ok:
            raise CheckFailed("the bundle just written does not verify: " + "; ".join(f.reason for f in report.findings[:3]),
                              where=str(built.path), hint="nothing was promoted; fix the cause and sign the approval again")
        promote_to_production(store, plan.model_ref, ReleaseEvidence(approved.id, plan.model_ref, built.model_digest,
                                                                 built.manifest_sha256, True), actor=signer.run_by,
                              root=project.root)
    except QmsError:
        built.path.unlink()
        raise
    _seal(project, store, identity_dir)
    row = _record(store, plan, Step.BUNDLED, signer, approved.commit, approved.verdict_digest, folder,
                  approved.soup_versions(), sha256_file(built.path))
    _seal(project, store, identity_dir)
    return StepResult(row, folder, built.path, report)
