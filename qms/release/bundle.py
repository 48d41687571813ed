"""The submission bundle: a zip of documents, data, certificates, an audit checkpoint and the signed manifest.

The manifest is an in-toto Statement v1 in a DSSE envelope (`qms.signing.manifest`) listing
every other file's sha256; `manifest.json` is its human-readable copy, which must be the
envelope's payload byte for byte. `release.json` (listed, so signed) names the release, the
signers allowed in each role, the store and the key of the audit checkpoint.

`verify_bundle` needs nothing but the zip and the configured CA; `qms.release.assembly` writes bundles.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from qms.checkpoint import Checkpoint
from qms.errors import QmsError
from qms.gate.findings import Finding

MANIFEST = "manifest.json"
ENVELOPE = "manifest.dsse.json"
RELEASE = "release.json"
CHECKPOINT = "audit/checkpoint.json"
ROLES = ("author", "reviewer", "approver")


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

    @property
    def ok(self) -> bool:
        return not self.findings and self.files > 0

    def add(self, check: str, item: str, reason: str, hint: str = "") -> None:
        self.findings.append(Finding(f"bundle.{check}", item, reason, hint))

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "ok": self.ok, "release": self.release, "files": self.files,
                "signatures": self.signatures, "findings": [f.to_json() for f in self.findings]}


def _read(path: Path, report: BundleReport) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            bad = [n for n in names if PurePosixPath(n).is_absolute() or ".." in PurePosixPath(n).parts or n.endswith("/")]
            for n in bad:
                report.add("files", n, "an entry with an absolute path, '..' or a directory", "the bundle was altered")
            if len(set(names)) != len(names):
                report.add("files", path.name, "the zip holds two entries with the same name", "the bundle was altered")
            return None if bad else {n: z.read(n) for n in names}
    except (OSError, zipfile.BadZipFile) as exc:
        report.add("files", path.name, f"not a readable zip: {exc}")
        return None


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


def _manifest(files: dict[str, bytes], trust: Any, report: BundleReport) -> dict[str, Any] | None:
    """Steps 1-3: the envelope verifies, covers exactly the files present, and manifest.json is its payload."""
    from qms.signing.manifest import verify_manifest

    if ENVELOPE not in files or MANIFEST not in files or RELEASE not in files:
        report.add("manifest", ENVELOPE, f"the bundle lacks {ENVELOPE}, {MANIFEST} or {RELEASE}")
        return None
    try:
        doc = json.loads(files.pop(ENVELOPE))
        copy = files.pop(MANIFEST)
        release = json.loads(files[RELEASE])
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in files.items():
                (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(tmp) / name).write_bytes(data)
            result = verify_manifest(doc, Path(tmp), trust, where=ENVELOPE)
        payload = manifest_payload(doc)
    except (ValueError, QmsError) as exc:
        report.add("manifest", ENVELOPE, f"the manifest or its envelope is malformed: {getattr(exc, 'message', exc)}")
        return None
    report.release = str(release.get("release"))
    status = result.signature
    report.signatures.append({"file": ENVELOPE, **status.to_json()})
    if copy != payload:
        report.add("manifest", MANIFEST, "manifest.json is not byte for byte the signed manifest",
                   "the human-readable copy was altered; trust only the envelope")
    if not status.ok:
        report.add("manifest", ENVELOPE, "the manifest signature does not verify: " + "; ".join(status.reasons))
    elif status.user_id not in release.get("roles", {}).get("approver", []) or status.meaning != "approved":
        report.add("manifest", ENVELOPE, f"the manifest is signed by {status.user_id} as {status.meaning}, "
                   "not by an approver of the release as approved")
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


def verify_bundle(path: Path, anchors: tuple[x509.Certificate, ...]) -> BundleReport:
    """Verify a bundle offline against the configured CA certificates `anchors` (never the bundle's own)."""
    from qms.signing import Trust
    from qms.signing.pdf import verify_pdf

    report = BundleReport(str(path))
    if not anchors:
        report.add("trust", "CA", "no trusted CA certificate is configured", "pass --ca FILE or run `qms ca init`")
        return report
    files = _read(path, report)
    if files is None:
        return report
    trust = Trust(anchors)
    release = _manifest(files, trust, report)
    if release is None:
        return report
    roles: dict[str, list[str]] = release.get("roles", {})
    # 4. Every PDF is signed in every required role, by someone allowed to sign it.
    for name in sorted(n for n in files if n.endswith(".pdf")):
        try:
            pdf = verify_pdf(files[name], trust, required_roles=ROLES, where=name)
        except QmsError as exc:
            report.add("pdf", name, exc.message)
            continue
        for sig in pdf.signatures:
            report.signatures.append({"file": name, **sig.to_json()})
            if sig.field in roles and sig.user_id not in roles[sig.field]:
                report.add("roles", name, f"field {sig.field} signed by {sig.user_id}, not one of {', '.join(roles[sig.field])}")
        if not pdf.ok:
            reasons = [*pdf.reasons, *(r for s in pdf.signatures for r in s.reasons), *(f"role {m} is not signed" for m in pdf.missing)]
            report.add("pdf", name, "; ".join(reasons) or "a signature does not verify")
    # 5. The audit checkpoint.
    _checkpoint(files, release, report)
    return report
