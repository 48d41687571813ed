"""The submission bundle: a zip of documents, data, certificates, an audit checkpoint and the signed manifest.

The manifest is an in-toto Statement v1 in a DSSE envelope (`qms.signing.manifest`) listing
every other file's sha256; `manifest.json` is its human-readable copy, which must be the
envelope's payload byte for byte. `release.json` (listed, so signed) names the release, the
store and the key of the audit checkpoint; who may sign comes only from the approved signing
roster and the release plan under `authority/` (`qms.release.authority`).

`verify_bundle` needs nothing but the zip and the configured CA; `qms.release.assembly` writes bundles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from qms.checkpoint import Checkpoint
from qms.checkpoint_carried import CHECKPOINT_MEMBER
from qms.compute.local import side_by_side
from qms.errors import QmsError
from qms.findings import Finding
from qms.release.archive import Contents, Limits, read_contents

if TYPE_CHECKING:
    from qms.signing import Trust
    from qms.signing.pdf.verify import PdfReport
    from qms.signing.status import SignatureStatus

__all__ = [
    "BundleReport", "CHECKPOINT", "CRL", "ENVELOPE", "MANIFEST", "PLAN", "RELEASE", "ROLES", "ROSTER", "ROSTER_APPROVAL",
    "manifest_payload", "verify_bundle",
]

MANIFEST = "manifest.json"
ENVELOPE = "manifest.dsse.json"
RELEASE = "release.json"
CHECKPOINT = CHECKPOINT_MEMBER
CRL = "revocation.crl"  # the CA-signed revocation list at sealing time (`qms ca crl`), beside the manifest
ROSTER = "authority/signing-roster.json"  # the approved roster (canonical JSON): who may sign what
ROSTER_APPROVAL = "authority/signing-roster.sig.json"  # its approval by a quality person (detached signature)
PLAN = "authority/release-plan.json"  # the release plan as approved, with its commit and separation-of-duties rule
ROLES = ("author", "reviewer", "approver")
_READ_WHOLE = (ENVELOPE, MANIFEST, RELEASE, CHECKPOINT, CRL, ROSTER, ROSTER_APPROVAL, PLAN)  # and every PDF


def manifest_payload(envelope_doc: dict[str, Any]) -> bytes:
    """The signed in-toto statement's exact bytes."""
    from qms.signing.dsse import Envelope

    return Envelope.from_json(envelope_doc.get("envelope"), ENVELOPE).payload


@dataclass
class BundleReport:
    """What the offline verification found; `ok` only when every step ran and found nothing."""

    bundle: str
    findings: list[Finding] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    files: int = 0
    release: str | None = None
    seal: SignatureStatus | None = field(default=None, repr=False)  # the manifest's signature, judged by step 6

    @property
    def ok(self) -> bool:
        return not self.findings and self.files > 0

    def add(self, check: str, item: str, reason: str, hint: str = "") -> None:
        self.findings.append(Finding(f"bundle.{check}", item, reason, hint, where=item))

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "ok": self.ok, "release": self.release, "files": self.files,
                "signatures": self.signatures, "findings": [f.to_json() for f in self.findings]}


def _read(path: Path, report: BundleReport, limits: Limits) -> Contents | None:
    """Step 0: a sound zip (`qms.release.archive`), every member hashed once, the few the checks read kept whole."""
    contents = read_contents(path, lambda name: name in _READ_WHOLE or name.endswith(".pdf"), limits)
    report.findings.extend(contents.findings)
    return None if contents.findings else contents


def _checkpoint(files: dict[str, bytes], release: dict[str, Any], report: BundleReport) -> None:
    """The audit checkpoint is signed by the key the signed release.json names, for the release's store."""
    if CHECKPOINT not in files:
        report.add("checkpoint", CHECKPOINT, "the bundle carries no audit checkpoint")
        return
    try:
        cp = Checkpoint.from_json(json.loads(files[CHECKPOINT]), CHECKPOINT)
        key = serialization.load_pem_public_key(str(release.get("checkpoint_key", "")).encode())
        if not isinstance(key, Ed25519PublicKey):
            raise QmsError("the checkpoint key is not Ed25519", where=RELEASE)
        cp.check_signature(key, CHECKPOINT)
    except (QmsError, ValueError) as exc:
        report.add("checkpoint", CHECKPOINT, str(getattr(exc, "message", exc)))
        return
    if cp.store_id != release.get("store_id"):
        report.add("checkpoint", CHECKPOINT, f"the checkpoint is of store {cp.store_id}, the release of {release.get('store_id')}")


def _manifest(contents: Contents, trust: Any, report: BundleReport) -> dict[str, Any] | None:
    """Steps 1-3: the envelope verifies, covers exactly the files present, and manifest.json is its payload."""
    from qms.signing.manifest import check_manifest

    files = contents.data
    if ENVELOPE not in files or MANIFEST not in files or RELEASE not in files:
        report.add("manifest", ENVELOPE, f"the bundle lacks {ENVELOPE}, {MANIFEST} or {RELEASE}")
        return None
    try:
        doc = json.loads(files[ENVELOPE])
        copy = files[MANIFEST]
        release = json.loads(files[RELEASE])
        if not isinstance(release, dict):
            raise ValueError(f"{RELEASE} is not a JSON object")
        listed = [n for n in contents.sha256 if n not in (ENVELOPE, MANIFEST)]
        result = check_manifest(doc, listed, contents.sha256.__getitem__, trust, where=ENVELOPE)
        payload = manifest_payload(doc)
    except (ValueError, QmsError) as exc:
        report.add("manifest", ENVELOPE, f"the manifest or its envelope is malformed: {getattr(exc, 'message', exc)}")
        return None
    report.release = str(release.get("release"))
    status = result.signature
    report.seal = status
    report.signatures.append({"file": ENVELOPE, **status.to_json()})
    if copy != payload:
        report.add("manifest", MANIFEST, "manifest.json is not byte for byte the signed manifest",
                   "the human-readable copy was altered; trust only the envelope")
    if not status.ok:
        report.add("manifest", ENVELOPE, "the manifest signature does not verify: " + "; ".join(status.reasons))
    elif status.object_ref != f"release:{report.release}:manifest":
        report.add("manifest", ENVELOPE, f"the envelope signs {status.object_ref}, not release {report.release}")
    for name in result.added:
        report.add("files", name, "a file the signed manifest does not list", "nothing unsigned may travel in a bundle")
    for name in result.missing:
        report.add("files", name, "listed in the signed manifest but missing from the bundle")
    for name in result.changed:
        report.add("hash", name, "the file's sha256 differs from the signed manifest's", "the file was altered")
    report.files = result.files
    return dict(release)


def _revocation_trust(anchors: tuple[x509.Certificate, ...], files: dict[str, bytes], crls: Sequence[tuple[bytes, str]],
                      revocations: Mapping[str, Any], report: BundleReport) -> Any:
    """Step 0b: what the verifier trusts: `anchors`, the revocations it knows, every CRL the anchors signed (the
    bundle's and the verifier's own), and trusted time required when the release says it was signed with a TSA."""
    from qms.signing import SigningError, Trust
    from qms.signing.crl import with_crl

    try:
        release = json.loads(files.get(RELEASE, b"{}"))
    except ValueError:
        release = {}
    trust = Trust(anchors, revocations=dict(revocations),
                  require_trusted_time=isinstance(release, dict) and release.get("trusted_time") is True)
    for data, where in [*([(files[CRL], CRL)] if CRL in files else []), *crls]:
        try:
            trust = with_crl(trust, data, where)
        except SigningError as exc:
            report.add("revocation", where, exc.message, exc.hint or "")
    return trust


def _subject(pdf: bytes) -> str | None:
    """The document id and revision the renderer wrote into the signed revision's /Info /Subject."""
    from io import BytesIO

    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        info = PdfFileReader(BytesIO(pdf), strict=False).trailer_view["/Info"].get_object()
        return str(info["/Subject"])
    except Exception:  # noqa: BLE001 - any unreadable PDF is reported by the signature step; here it has no subject
        return None


def _required(files: Mapping[str, bytes], report: BundleReport) -> None:
    """Every document the carried release plan requires is in the bundle (its signatures are judged in steps 4 and 6):
    a bundle sealed without one is incomplete. A plan that does not say requires the whole catalogue."""
    from qms.documents.catalogue import DocumentKind

    try:
        plan = json.loads(files.get(PLAN, b"{}"))
    except ValueError:
        return  # an unreadable plan is step 6's finding
    required = plan.get("documents", [k.value for k in DocumentKind]) if isinstance(plan, dict) else []
    if not isinstance(required, list) or not all(isinstance(d, str) for d in required):
        report.add("documents", PLAN, "the release plan's documents are not a list of document ids")
        return
    for document in required:
        name = f"documents/{document}.pdf"
        if name not in files:
            report.add("documents", name, f"the release plan requires document {document}, which the bundle lacks",
                       "a release bundle carries every document its plan requires, each signed in every role")


def _documents(files: Mapping[str, bytes], report: BundleReport) -> None:
    """Each evidence document is the one its name says, for this release: not a signed copy of another document (or of
    another release's) renamed, which its signatures alone would not reveal."""
    from qms.documents.catalogue import DocumentKind

    _required(files, report)
    for kind in DocumentKind:
        name = f"documents/{kind.value}.pdf"
        if name not in files:
            continue
        expected = f"{kind.value.upper()}-{report.release}"
        subject = _subject(files[name])
        if subject is None or subject.split(" ")[0] != expected:
            report.add("documents", name, f"the PDF is not document {expected} (its subject is {subject!r})",
                       "a signed PDF must not stand in for another document or another release")


@dataclass(frozen=True)
class _PdfCheck:
    """One document's signatures (`qms.signing.pdf.verify_pdf`), or why they cannot be read: run side by side, since
    pyHanko parses each revision in Python (a bundle's 13 documents take ~1 s of one core)."""

    files: Mapping[str, bytes]
    trust: Trust

    def __call__(self, name: str) -> PdfReport | QmsError:
        from qms.signing.pdf import verify_pdf

        try:
            return verify_pdf(self.files[name], self.trust, required_roles=ROLES, where=name)
        except QmsError as exc:
            return exc


def verify_bundle(path: Path, anchors: tuple[x509.Certificate, ...], limits: Limits = Limits(),
                  crls: Sequence[tuple[bytes, str]] = (), revocations: Mapping[str, Any] | None = None, *,
                  workers: int = 1) -> BundleReport:
    """Verify a bundle offline against the configured CA certificates `anchors` (never the bundle's own).

    `limits` caps what the zip may make the verifier read (member sizes, compression ratio).
    `crls` are the verifier's own revocation lists (data, where), newer than the bundle's:
    a signature by a certificate they list fails unless a timestamp proves it came first.
    `revocations` are those the verifier's own record store holds (`Trust.from_store(...).revocations`).
    `workers` forked processes check the documents' signatures (a command's choice; a threaded server keeps 1).
    """
    import qms.signing.pdf  # noqa: F401 - pyHanko loaded here, before `side_by_side` forks, not once in every child
    from qms.release.authority import authority_findings

    report = BundleReport(str(path))
    if not anchors:
        report.add("trust", "CA", "no trusted CA certificate is configured",
                   "pass --ca FILE, the CA certificate the manufacturer gave you, or trust it here once with "
                   "`qms ca import FILE`")
        return report
    contents = _read(path, report, limits)
    if contents is None:
        return report
    files = contents.data
    trust = _revocation_trust(anchors, files, crls, revocations or {}, report)
    release = _manifest(contents, trust, report)
    if release is None:
        return report
    # 4. Every evidence document is the document of its name for this release, and is signed in every role.
    _documents(files, report)
    role_signatures = []
    names = sorted(n for n in files if n.endswith(".pdf"))
    checked = side_by_side(_PdfCheck(files, trust), names, workers, cost=lambda member: len(files[member]))
    for name, pdf in zip(names, checked, strict=True):
        if isinstance(pdf, QmsError):
            report.add("pdf", name, pdf.message)
            continue
        for sig in pdf.signatures:
            report.signatures.append({"file": name, **sig.to_json()})
            role_signatures.append((name, sig))
        if not pdf.ok:
            reasons = [*pdf.reasons, *(r for s in pdf.signatures for r in s.reasons), *(f"role {m} is not signed" for m in pdf.missing)]
            report.add("pdf", name, "; ".join(reasons) or "a signature does not verify")
    # 5. The audit checkpoint.
    _checkpoint(files, release, report)
    # 6. Authority (`qms.release.authority`): the seal and every role signature against the approved roster and plan.
    if report.seal is not None:
        report.findings.extend(authority_findings(files, trust, role_signatures, report.seal))
    return report
