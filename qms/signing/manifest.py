"""Signed manifests: an in-toto Statement v1 in a DSSE envelope, for artefacts that are not PDFs.

The statement lists every artefact (subject: name and sha256) and, as its predicate,
the git commit, the model, dataset and protocol hashes, the test run ids, and the
signer's printed name, user id, time and meaning (§11.50). Verification recomputes
every hash and reports files missing, changed or added.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509

from qms.hashing import canonical_json, sha256_file, sha256_hex
from qms.signing import keys
from qms.signing.dsse import Envelope, seal
from qms.signing.errors import SigningError
from qms.signing.meaning import Meaning, SignatureMeaning
from qms.signing.records import SignatureRecord
from qms.signing.sign import envelope_time, record_signature, stamp_envelope, unlock
from qms.signing.status import SignatureStatus, failed
from qms.signing.trust import Trust, iso, parse_iso
from qms.store import Store

__all__ = ["check_manifest", "MANIFEST_KIND", "ManifestReport", "PAYLOAD_TYPE", "PREDICATE_TYPE", "Provenance",
           "sign_manifest", "STATEMENT_TYPE", "subjects", "verify_manifest"]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
PREDICATE_TYPE = "https://qmskit.dev/release-manifest/v1"
MANIFEST_KIND = "qms-signed-manifest/v1"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Provenance:
    """What the artefacts were made from: commit, model, dataset and protocol hashes, test runs."""

    git_commit: str
    model: Mapping[str, str] = field(default_factory=dict)
    dataset: Mapping[str, str] = field(default_factory=dict)
    protocols: Mapping[str, str] = field(default_factory=dict)
    test_runs: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not re.match(r"^[0-9a-f]{7,64}$", self.git_commit):
            raise SigningError(f"not a git commit id: {self.git_commit!r}")
        for what, table in (("model", self.model), ("dataset", self.dataset), ("protocol", self.protocols)):
            for name, digest in table.items():
                if not _SHA256.match(digest):
                    raise SigningError(f"the {what} hash of {name} is not a sha256 hex digest: {digest!r}")

    def to_json(self) -> dict[str, Any]:
        return {"git_commit": self.git_commit, "model": dict(self.model), "dataset": dict(self.dataset),
                "protocols": dict(self.protocols), "test_runs": list(self.test_runs)}


def _files(root: Path, exclude: Iterable[Path]) -> list[str]:
    skip = {p.resolve() for p in exclude}
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.resolve() not in skip)


def subjects(root: Path, names: Sequence[str]) -> list[dict[str, Any]]:
    """in-toto subjects for the named files under `root`; a missing file is an error naming it."""
    out = []
    for name in sorted(set(names)):
        path = root / name
        if not path.is_file():
            raise SigningError("the manifest lists a file that does not exist", where=str(path))
        out.append({"name": name, "digest": {"sha256": sha256_file(path)}})
    return out


def sign_manifest(store: Store, identity_dir: Path, user_id: str, passphrase: str, root: Path, names: Sequence[str],
                  provenance: Provenance, meaning: Meaning | SignatureMeaning | str, object_ref: str, *,
                  non_interactive: bool = False, actor: str | None = None, tsa: str | None = None,
                  now: datetime | None = None) -> tuple[dict[str, Any], SignatureRecord]:
    """Sign a manifest of the files `names` (relative to `root`); returns the manifest document and the record.

    With `tsa` ("local" or a URL, `qms.signing.timestamp`) the document also carries an RFC 3161
    timestamp token over the signature bytes, the manifest's trusted time.
    """
    if not names:
        raise SigningError("a manifest needs at least one file", where=str(root))
    listed = subjects(root, names)
    signer = unlock(store, identity_dir, user_id, passphrase, meaning, non_interactive=non_interactive, now=now)
    ident = signer.identity
    statement = {
        "_type": STATEMENT_TYPE, "subject": listed, "predicateType": PREDICATE_TYPE,
        "predicate": {**provenance.to_json(), "object": object_ref,
                      "signer": {"user_id": ident.user_id, "name": ident.name, "role": ident.role.value},
                      "meaning": signer.meaning.kind.value, "reason": signer.meaning.reason,
                      "signed_at": signer.signed_at_text, "interactive": signer.interactive},
    }
    payload = canonical_json(statement)
    envelope = seal(signer.key, ident.certificate, PAYLOAD_TYPE, payload)
    token = stamp_envelope(tsa, identity_dir, envelope, object_ref)
    rec = record_signature(store, signer, object_ref, sha256_hex(payload), "manifest", actor=actor)
    doc = {"kind": MANIFEST_KIND, "envelope": envelope.to_json(), "certificate": keys.cert_pem(ident.certificate)}
    if token is not None:
        doc["timestamp"] = token
    return doc, rec


@dataclass(frozen=True)
class ManifestReport:
    """The manifest's signature, and every file missing, changed or not listed."""

    signature: SignatureStatus
    files: int
    missing: tuple[str, ...]
    changed: tuple[str, ...]
    added: tuple[str, ...]
    provenance: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.signature.ok and not (self.missing or self.changed or self.added)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "signature": self.signature.to_json(), "files": self.files, "missing": list(self.missing),
                "changed": list(self.changed), "added": list(self.added), "provenance": self.provenance}


def _signature(env: Envelope, cert: x509.Certificate, statement: dict[str, Any], trust: Trust,
               stamped: tuple[datetime | None, tuple[str, ...]]) -> SignatureStatus:
    pred = statement.get("predicate") if isinstance(statement.get("predicate"), dict) else {}
    assert isinstance(pred, dict)
    signer = pred.get("signer") if isinstance(pred.get("signer"), dict) else {}
    assert isinstance(signer, dict)
    reasons: list[str] = []
    intact = (env.payload_type == PAYLOAD_TYPE and statement.get("_type") == STATEMENT_TYPE
              and statement.get("predicateType") == PREDICATE_TYPE and env.verify(cert))
    if not intact:
        reasons.append("the manifest's signature does not verify: the statement was altered or signed with another key")
    if keys.subject_user_id(cert) not in (None, signer.get("user_id")):
        reasons.append(f"the certificate is of user {keys.subject_user_id(cert)}, the manifest names {signer.get('user_id')}")
        intact = False
    try:
        at = parse_iso(str(pred.get("signed_at")))
    except ValueError:
        return failed("the manifest's signing time is unreadable", certificate=env.keyid)
    trusted_at, token_reasons = stamped
    reasons += token_reasons
    check = trust.check(cert, trusted_at or at, trusted_time=trusted_at is not None)
    return SignatureStatus(
        intact=intact, valid=intact and check.valid and not token_reasons, trusted=check.trusted, signer=signer.get("name"),
        user_id=signer.get("user_id"), meaning=pred.get("reason") or pred.get("meaning"), signed_at=pred.get("signed_at"),
        object_ref=pred.get("object"), sha256=sha256_hex(env.payload), interactive=pred.get("interactive"),
        certificate=env.keyid, reasons=tuple(reasons) + check.reasons, time_trusted=trusted_at is not None,
        warnings=check.warnings, timestamped_at=None if trusted_at is None else iso(trusted_at),
    )


def verify_manifest(doc: Any, root: Path, trust: Trust, *, exclude: Iterable[Path] = (),
                    where: str = "manifest") -> ManifestReport:
    """Verify the signature offline, recompute every listed file's sha256, and name files not listed."""
    return check_manifest(doc, set(_files(root, exclude)), lambda name: sha256_file(root / name), trust, where=where)


def check_manifest(doc: Any, present: Collection[str], sha256: Callable[[str], str], trust: Trust, *,
                   where: str = "manifest") -> ManifestReport:
    """`verify_manifest` over files named `present` whose digests `sha256` gives (a bundle's members, hashed once)."""
    if not isinstance(doc, dict) or doc.get("kind") != MANIFEST_KIND:
        raise SigningError(f"not a {MANIFEST_KIND} document", where=where)
    env = Envelope.from_json(doc.get("envelope"), where)
    cert = trust.certificate(env.keyid) or keys.load_certificate(str(doc.get("certificate", "")).encode(), where)
    statement = env.payload_json(where)
    status = _signature(env, cert, statement, trust, envelope_time(doc.get("timestamp"), env, trust, f"{where} timestamp"))
    listed: dict[str, str] = {}
    for item in statement.get("subject") or []:
        try:
            listed[str(item["name"])] = str(item["digest"]["sha256"])
        except (KeyError, TypeError) as exc:
            raise SigningError(f"a manifest subject is malformed: {item!r}", where=where) from exc
    missing = tuple(sorted(n for n in listed if n not in present))
    changed = tuple(sorted(n for n in listed if n in present and sha256(n) != listed[n]))
    added = tuple(sorted(set(present) - set(listed)))
    pred = statement.get("predicate")
    provenance = {k: pred.get(k) for k in ("git_commit", "model", "dataset", "protocols", "test_runs")} if isinstance(pred, dict) else {}
    return ManifestReport(status, len(listed), missing, changed, added, provenance)
