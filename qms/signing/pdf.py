"""PAdES signatures on PDF documents: roles declared first, then incremental signatures.

The first revision declares one empty signature field per required role, each with a
seed value dictionary fixing its meaning (/Reasons) and its allowed signers (/Cert
/Subject), and a field lock: once a role is signed, only the later roles' fields may
change. Each signature is then an incremental update that leaves the earlier ones valid. Because cutting a file back to an earlier revision silently drops later
signatures, `verify_pdf` requires every declared role to be signed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.signers import constants
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from qms.hashing import sha256_hex
from qms.signing import keys, stamp
from qms.signing.errors import SigningError
from qms.signing.identity import identity
from qms.signing.meaning import Meaning, SignatureMeaning
from qms.signing.records import SignatureRecord
from qms.signing.sign import Unlocked, record_signature, unlock
from qms.signing.status import SignatureStatus, failed
from qms.signing.trust import Trust, iso
from qms.store import Store

_ALLOWED_CHANGES = ("NONE", "LTA_UPDATES", "FORM_FILLING")


@dataclass(frozen=True)
class RoleSpec:
    """A role to be signed: its field name, the meaning it signs with, who may sign it."""

    field: str
    meaning: Meaning
    signers: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.field or "." in self.field or len(self.field) > 64:
            raise SigningError(f"invalid signature field name {self.field!r}", hint="1-64 characters, no '.'")
        if not self.signers:
            raise SigningError(f"role {self.field} names no allowed signer")

    @classmethod
    def of(cls, field: str, meaning: Meaning | SignatureMeaning | str, signers: Sequence[str]) -> RoleSpec:
        return cls(field, Meaning.of(meaning), tuple(signers))


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def is_pdf(data: bytes) -> bool:
    return data.lstrip()[:5] == b"%PDF-"


def _reader(pdf: bytes, where: str) -> PdfFileReader:
    if not is_pdf(pdf):
        raise SigningError("not a PDF file (no %PDF- header)", where=where)
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        _ = reader.root
    except (PdfError, ValueError, KeyError, IndexError) as exc:
        raise SigningError(f"not a readable PDF: {exc}", where=where) from exc
    return reader


def _writer(pdf: bytes, where: str) -> IncrementalPdfFileWriter:
    """An incremental writer whose /Info /Producer will equal the XMP pdf:Producer.

    PDF/A-2/3 (ISO 19005-2 §6.6.2.3) require the two to agree; pyHanko writes its own
    name into the XMP and appends it to /Info, so /Info is set to the same name first.
    """
    _reader(pdf, where)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError) as exc:
        raise SigningError(f"not a readable PDF: {exc}", where=where) from exc
    info = writer.trailer.raw_get("/Info") if "/Info" in writer.trailer else None
    if isinstance(info, generic.IndirectObject):
        info.get_object()["/Producer"] = generic.TextStringObject(VENDOR)  # type: ignore[no-untyped-call]
        writer.mark_update(info)
    return writer


def _page_width(writer: IncrementalPdfFileWriter) -> float:
    page = writer.find_page_for_modification(-1)[0].get_object()  # type: ignore[no-untyped-call]
    box = page.get("/MediaBox")
    return float(box[2]) - float(box[0]) if box is not None else 595.0


def prepare_signature_fields(store: Store, identity_dir: Path, pdf: bytes, roles: Sequence[RoleSpec], *,
                             where: str = "document") -> bytes:
    """Declare the roles before anyone signs: one empty field per role on the last page, in signing order."""
    if not roles:
        raise SigningError("a document needs at least one role to sign", where=where)
    names = [r.field for r in roles]
    if len(set(names)) != len(names):
        raise SigningError(f"role fields must be unique: {names}", where=where)
    writer = _writer(pdf, where)
    if any(True for _ in fields.enumerate_sig_fields(writer)):
        raise SigningError("the document already has signature fields", where=where)
    width = _page_width(writer)
    for index, role in enumerate(roles):
        certs = [_asn1(identity(store, identity_dir, uid).certificate) for uid in role.signers]
        seed = fields.SigSeedValueSpec(
            flags=fields.SigSeedValFlags.REASONS | fields.SigSeedValFlags.SUBFILTER,
            reasons=[role.meaning.text], subfilters=[fields.SigSeedSubFilter.PADES],
            cert=fields.SigCertConstraints(flags=fields.SigCertConstraintFlags.SUBJECT, subjects=certs),
        )
        later = names[index + 1:]
        lock = (fields.FieldMDPSpec(fields.FieldMDPAction.EXCLUDE, fields=later) if later
                else fields.FieldMDPSpec(fields.FieldMDPAction.ALL))
        fields.append_signature_field(writer, fields.SigFieldSpec(
            role.field, on_page=-1, box=stamp.block_box(index, width), seed_value_dict=seed, field_mdp_spec=lock,
            readable_field_name=f"{role.field}: {role.meaning.text} ({', '.join(role.signers)})",
        ))
    out = io.BytesIO()
    writer.write(out)  # type: ignore[no-untyped-call]
    return out.getvalue()


@dataclass(frozen=True)
class _Field:
    name: str
    signed: bool
    reasons: tuple[str, ...]
    subjects: tuple[str, ...]


def _sig_fields(reader: PdfFileReader) -> list[_Field]:
    """Every signature field; a declared role is one with a seed value naming its meaning."""
    found: list[_Field] = []
    for name, value, ref in fields.enumerate_sig_fields(reader):
        obj = ref.get_object()
        sv_obj = obj.get("/SV")
        spec = None if sv_obj is None else fields.SigSeedValueSpec.from_pdf_object(sv_obj.get_object())  # type: ignore[no-untyped-call]
        subjects = tuple(c.sha256.hex() for c in (spec.cert.subjects or [])) if spec and spec.cert else ()
        found.append(_Field(str(name), value is not None, tuple(spec.reasons or ()) if spec else (), subjects))
    return found


def _choose_field(declared: list[_Field], field: str | None, meaning: Meaning, fp: str, user_id: str,
                  where: str) -> str | None:
    """The field this signature goes into, checked against the declared order, meaning and signers (§11.10(f))."""
    if not declared:
        if field is not None:
            raise SigningError(f"the document declares no signature field {field!r}", where=where)
        return None
    if field is None:
        fits = [f for f in declared if not f.signed and meaning.text in f.reasons and (not f.subjects or fp in f.subjects)]
        if not fits:
            listed = "; ".join(f"{f.name} ({'/'.join(f.reasons)})" for f in declared)
            raise SigningError(f"no unsigned field of this document is for {user_id} signing as {meaning.text!r}",
                               where=where, hint=f"declared: {listed}")
        field = fits[0].name
    target = next((f for f in declared if f.name == field), None)
    if target is None:
        raise SigningError(f"the document declares no signature field {field!r}", where=where,
                           hint=f"declared: {', '.join(f.name for f in declared)}")
    if target.signed:
        raise SigningError(f"the field {field} is already signed", where=where)
    if target.reasons and meaning.text not in target.reasons:
        raise SigningError(f"the field {field} is signed as {', '.join(target.reasons)!r}, not {meaning.text!r}", where=where)
    if target.subjects and fp not in target.subjects:
        raise SigningError(f"{user_id} is not an allowed signer of the field {field}", where=where,
                           hint="the roles name signers by certificate: after a key rotation, declare the roles again "
                                "on the unsigned document")
    earlier = [f.name for f in declared[: declared.index(target)] if not f.signed]
    if earlier:
        raise SigningError(f"the field {field} is signed after {', '.join(earlier)}, which are not signed yet", where=where)
    return field


class _Pdf17Signer(signers.PdfSigner):
    """PDF/A-2 and 3 are PDF 1.7: register the PAdES (ESIC) extension only.

    pyHanko marks ECDSA P-256 signatures with the ISO 32002 extension, which raises the
    document to PDF 2.0; ECDSA in CMS is already PAdES (ETSI EN 319 142-1), so the
    document keeps its 1.7 version and its PDF/A claim.
    """

    def register_extensions(self, pdf_out: BasePdfFileWriter, *, md_algorithm: str) -> None:
        pdf_out.ensure_output_version(version=(1, 7))  # type: ignore[no-untyped-call]
        if pdf_out.output_version < (2, 0):
            pdf_out.register_extension(constants.ESIC_EXTENSION_1)


def _pyhanko_signer(signer: Unlocked, trust: Trust) -> signers.SimpleSigner:
    der = signer.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    chain = SimpleCertificateStore.from_certs([_asn1(a) for a in trust.anchors])  # type: ignore[no-untyped-call]
    return signers.SimpleSigner(_asn1(signer.identity.certificate), asn1_keys.PrivateKeyInfo.load(der), chain)


def sign_pdf(store: Store, identity_dir: Path, user_id: str, passphrase: str, pdf: bytes,
             meaning: Meaning | SignatureMeaning | str, object_ref: str, *, field: str | None = None,
             tsa_url: str | None = None, non_interactive: bool = False, actor: str | None = None,
             now: datetime | None = None, where: str = "document") -> tuple[bytes, SignatureRecord]:
    """Add one PAdES signature as an incremental update; returns the signed bytes and the stored record.

    The field is the named one, or the first unsigned declared field for this signer and
    meaning; a document without declared fields gets a new one. On a document with
    declared roles the first signature certifies it (DocMDP: form filling and signing
    only). With `tsa_url`, an RFC 3161 timestamp is embedded. Nothing is recorded unless
    the signing succeeded.
    """
    parsed = Meaning.of(meaning)
    existing = _sig_fields(_reader(pdf, where))
    declared = [f for f in existing if f.reasons]
    current = identity(store, identity_dir, user_id)
    target = _choose_field(declared, field, parsed, keys.fingerprint(current.certificate), user_id, where)
    signer = unlock(store, identity_dir, user_id, passphrase, parsed, non_interactive=non_interactive, now=now)
    trust = Trust.from_store(store, identity_dir)
    certify = bool(declared) and not any(f.signed for f in existing)  # later roles may only fill their fields
    name = target or f"signature{len(existing) + 1}"
    meta = signers.PdfSignatureMetadata(
        field_name=name, reason=parsed.text, name=signer.identity.name, contact_info=user_id,
        subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256", certify=certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
    )
    new_field = None
    if target is None:
        page_width = _page_width(_writer(pdf, where))
        new_field = fields.SigFieldSpec(name, on_page=-1, box=stamp.block_box(len(existing), page_width))
    timestamper = timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None
    when = signer.signed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    params = stamp.text_params(signer.identity.name, user_id, parsed.text, when, signer.interactive)
    out = io.BytesIO()
    try:
        _Pdf17Signer(meta, _pyhanko_signer(signer, trust), timestamper=timestamper, stamp_style=stamp.style(),
                          new_field_spec=new_field).sign_pdf(_writer(pdf, where), output=out, appearance_text_params=params)
    except timestamps.TimestampRequestError as exc:
        raise SigningError(f"the timestamp server did not answer: {exc}", where=tsa_url,
                           hint="check signing.tsa_url, or sign without a timestamp") from exc
    except (PdfError, ValueError) as exc:
        raise SigningError(f"pyHanko refused to sign: {exc}", where=where) from exc
    signed = out.getvalue()
    rec = record_signature(store, signer, object_ref, sha256_hex(pdf), "pdf", output_sha256=sha256_hex(signed), actor=actor)
    return signed, rec


@dataclass(frozen=True)
class PdfReport:
    """Every signature of a PDF, and the declared roles no one has signed."""

    signatures: tuple[SignatureStatus, ...]
    declared: tuple[str, ...]
    missing: tuple[str, ...]
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return bool(self.signatures) and not self.missing and not self.reasons and all(s.ok for s in self.signatures)

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "signatures": [s.to_json() for s in self.signatures], "declared_roles": list(self.declared),
                "missing_roles": list(self.missing), "reasons": list(self.reasons)}


def _one(sig: EmbeddedPdfSignature, trust: Trust, declared: dict[str, _Field]) -> SignatureStatus:
    name = str(sig.field_name)
    try:
        cert = x509.load_der_x509_certificate(sig.signer_cert.dump())
        at = sig.self_reported_timestamp
        vc = ValidationContext(trust_roots=[_asn1(a) for a in trust.anchors], allow_fetching=False, moment=at)
        st = validate_pdf_signature(sig, vc)
    except Exception as exc:  # noqa: BLE001 - any failure to parse or check a signature is a finding, not a crash
        return failed(f"the signature in field {name} cannot be checked: {exc}", field=name)
    if st.timestamp_validity is not None and st.timestamp_validity.intact and st.timestamp_validity.valid:
        at = st.timestamp_validity.timestamp
    reasons: list[str] = []
    level = st.modification_level.name if st.modification_level is not None else "OTHER"
    if not st.intact:
        reasons.append(f"field {name}: the signed bytes were changed")
    if level not in _ALLOWED_CHANGES or st.docmdp_ok is False:
        reasons.append(f"field {name}: the document was modified after this signature ({level.lower()})")
    if not st.valid:
        reasons.append(f"field {name}: the signature value does not verify")
    if st.seed_value_constraint_error is not None:
        reasons.append(f"field {name}: {st.seed_value_constraint_error}")
    role = declared.get(name)
    meaning = str(sig.sig_object.get("/Reason", "")) or None
    if role is not None and role.subjects and keys.fingerprint(cert) not in role.subjects:
        reasons.append(f"field {name}: signed by {keys.subject_name(cert)}, who is not an allowed signer of it")
    if role is not None and role.reasons and meaning not in role.reasons:
        reasons.append(f"field {name}: signed as {meaning!r}, the role is {', '.join(role.reasons)!r}")
    check = trust.check(cert, at) if at is not None else None
    if check is None:
        reasons.append(f"field {name}: the signature carries no signing time")
    intact = st.intact and level in _ALLOWED_CHANGES and st.docmdp_ok is not False
    return SignatureStatus(
        intact=intact, valid=st.valid and check is not None and check.valid,
        trusted=st.trusted and check is not None and check.trusted, signer=keys.subject_name(cert),
        user_id=keys.subject_user_id(cert), meaning=meaning, signed_at=iso(at) if at else None, object_ref=None,
        sha256=None, interactive=None, certificate=keys.fingerprint(cert),
        reasons=tuple(reasons) + (check.reasons if check else ()), field=name,
    )


def verify_pdf(pdf: bytes, trust: Trust, *, required_roles: Sequence[str] = (), where: str = "document") -> PdfReport:
    """Check every signature offline and that every declared (and required) role is signed."""
    reader = _reader(pdf, where)
    declared = [f for f in _sig_fields(reader) if f.reasons]
    by_name = {f.name: f for f in declared}
    statuses = tuple(_one(sig, trust, by_name) for sig in reader.embedded_signatures)
    signed = {s.field for s in statuses}
    missing = tuple(f.name for f in declared if f.name not in signed)
    missing += tuple(r for r in required_roles if r not in by_name and r not in signed)
    reasons = [] if statuses else ["the document carries no signature"]
    reasons += [f"field {s.field} is signed but was never declared as a role" for s in statuses
                if by_name and s.field not in by_name]
    return PdfReport(statuses, tuple(by_name), missing, tuple(reasons))


__all__ = ["PdfReport", "RoleSpec", "is_pdf", "prepare_signature_fields", "sign_pdf", "verify_pdf"]
