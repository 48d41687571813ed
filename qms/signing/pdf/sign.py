"""One PAdES signature added to a PDF as an incremental update that leaves the earlier ones valid."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.signers import constants
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from qms.compute.local import side_by_side
from qms.hashing import sha256_hex
from qms.signing import keys, stamp
from qms.signing.crl import crl_der, published_crls, read_crl
from qms.signing.errors import SigningError
from qms.signing.identity import identity
from qms.signing.meaning import Meaning, SignatureMeaning
from qms.signing.pdf.document import asn1, page_width, reader, writer
from qms.signing.pdf.roles import DeclaredField, declared_fields
from qms.signing.records import SignatureRecord
from qms.signing.sign import Unlocked, record_signature, unlock
from qms.signing.signatory import Signatory
from qms.signing.timestamp import timestamper as timestamps_of
from qms.signing.trust import Trust
from qms.store import Store

__all__ = ["PdfToSign", "pyhanko_signer", "sign_pdf", "sign_pdfs"]


def _choose_field(declared: list[DeclaredField], field: str | None, meaning: Meaning, fp: str, user_id: str,
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


def pyhanko_signer(signer: Unlocked, trust: Trust) -> signers.SimpleSigner:
    """The unlocked key and certificate, with the trust anchors as its chain, in pyHanko's form."""
    der = signer.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    chain = SimpleCertificateStore.from_certs([asn1(a) for a in trust.anchors])  # type: ignore[no-untyped-call]
    return signers.SimpleSigner(asn1(signer.identity.certificate), asn1_keys.PrivateKeyInfo.load(der), chain)


class _OfflineByDesign(logging.Filter):
    """pyHanko warns whenever revocation information is embedded without fetching: offline is the design here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Validation/revocation info will be embedded, but fetching is not allowed")


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_OfflineByDesign())


def _published_crls(identity_dir: Path, trust: Trust) -> list[x509.CertificateRevocationList]:
    """The CA-signed revocation lists published in the identity directory (`qms ca crl`)."""
    return [read_crl(p.read_bytes(), trust.anchors, str(p)) for p in published_crls(identity_dir)]


def _revocation_context(trust: Trust, crls: list[x509.CertificateRevocationList]) -> ValidationContext:
    """Offline revocation information for the DSS (PAdES B-LT): the anchors and the published CRLs, no fetching."""
    return ValidationContext(trust_roots=[asn1(a) for a in trust.anchors], crls=[crl_der(c) for c in crls],
                             allow_fetching=False, revocation_mode="hard-fail")


@dataclass(frozen=True)
class PdfToSign:
    """One document of a batch: its bytes, the record it is signed for, its field (None: the first that fits)."""

    pdf: bytes
    object_ref: str
    field: str | None = None
    where: str = "document"


@dataclass(frozen=True)
class _Placed:
    """A document with the field its signature goes into (`None`: a new field, `count` signatures already there)."""

    doc: PdfToSign
    target: str | None
    certify: bool
    count: int


def _place(doc: PdfToSign, meaning: Meaning, fingerprint: str, user_id: str) -> _Placed:
    existing = declared_fields(reader(doc.pdf, doc.where))
    declared = [f for f in existing if f.reasons]
    target = _choose_field(declared, doc.field, meaning, fingerprint, user_id, doc.where)
    certify = bool(declared) and not any(f.signed for f in existing)  # later roles may only fill their fields
    return _Placed(doc, target, certify, len(existing))


@dataclass(frozen=True)
class _Signing:
    """pyHanko's part of a signature: the incremental update over one placed document (no store, no record)."""

    signer: Unlocked
    trust: Trust
    crls: list[x509.CertificateRevocationList]
    timestamper: TimeStamper | None
    tsa_where: str | None

    def __call__(self, placed: _Placed) -> bytes:
        signer, doc = self.signer, placed.doc
        name = placed.target or f"signature{placed.count + 1}"
        meta = signers.PdfSignatureMetadata(
            field_name=name, reason=signer.meaning.text, name=signer.identity.name, contact_info=signer.identity.user_id,
            subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256", certify=placed.certify,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS, embed_validation_info=bool(self.crls),
            validation_context=_revocation_context(self.trust, self.crls) if self.crls else None,
        )
        new_field = None
        if placed.target is None:
            width = page_width(writer(doc.pdf, doc.where))
            new_field = fields.SigFieldSpec(name, on_page=-1, box=stamp.block_box(placed.count, width))
        when = signer.signed_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        params = stamp.text_params(signer.identity.name, signer.identity.user_id, signer.meaning.text, when,
                                   signer.interactive)
        out = io.BytesIO()
        try:
            _Pdf17Signer(meta, pyhanko_signer(signer, self.trust), timestamper=self.timestamper, stamp_style=stamp.style(),
                         new_field_spec=new_field).sign_pdf(writer(doc.pdf, doc.where), output=out,
                                                            appearance_text_params=params)
        except timestamps.TimestampRequestError as exc:
            raise SigningError(f"the timestamp server did not answer: {exc}", where=self.tsa_where,
                               hint="check [tool.qms.signing] tsa, or sign without a timestamp") from exc
        except (PdfError, ValueError) as exc:
            raise SigningError(f"pyHanko refused to sign: {exc}", where=doc.where) from exc
        return out.getvalue()


def sign_pdfs(store: Store, identity_dir: Path, signatory: Signatory, documents: Sequence[PdfToSign],
              meaning: Meaning | SignatureMeaning | str, *, tsa: str | TimeStamper | None = None,
              now: datetime | None = None, workers: int = 1) -> list[tuple[bytes, SignatureRecord]]:
    """One PAdES signature added to each document as an incremental update; the signed bytes and stored records,
    in order.

    Each field is the named one, or the first unsigned declared field for this signer and
    meaning; a document without declared fields gets a new one. On a document with
    declared roles the first signature certifies it (DocMDP: form filling and signing
    only). With `tsa` ("local" or a URL, see `qms.signing.timestamp`) an RFC 3161 timestamp
    is embedded (PAdES B-T); a batch is timestamped by one TSA opened once, so that pyHanko asks
    it once (per process) for the dummy token it sizes a signature with. When the CA's revocation
    list is published in `identity_dir`, it is added to each document's DSS with the chain (PAdES
    B-LT), so the signature verifies offline later.

    Every field is chosen and the key unlocked (one passphrase, §11.200(a)) before anything is signed;
    `workers` forked processes then sign (pyHanko parses and writes each document in Python: a
    command's choice, never a threaded server's), and this process records each signature, in order.
    Nothing is recorded unless every signing succeeded.
    """
    parsed = Meaning.of(meaning)
    user_id = signatory.user_id
    fingerprint = keys.fingerprint(identity(store, identity_dir, user_id).certificate)
    placed = [_place(doc, parsed, fingerprint, user_id) for doc in documents]
    signer = unlock(store, identity_dir, user_id, signatory.passphrase, parsed,
                    non_interactive=signatory.non_interactive, now=now)
    trust = Trust.from_store(store, identity_dir)
    timestamper = timestamps_of(tsa, identity_dir) if tsa is None or isinstance(tsa, str) else tsa
    signing = _Signing(signer, trust, _published_crls(identity_dir, trust), timestamper,
                       tsa if isinstance(tsa, str) else getattr(tsa, "url", None))
    signed = side_by_side(signing, placed, workers, cost=lambda p: len(p.doc.pdf))  # pyHanko's parse: by size
    return [(out, record_signature(store, signer, p.doc.object_ref, sha256_hex(p.doc.pdf), "pdf",
                                   output_sha256=sha256_hex(out), actor=signatory.actor))
            for p, out in zip(placed, signed, strict=True)]


def sign_pdf(store: Store, identity_dir: Path, signatory: Signatory, pdf: bytes,
             meaning: Meaning | SignatureMeaning | str, object_ref: str, *, field: str | None = None,
             tsa: str | TimeStamper | None = None, now: datetime | None = None,
             where: str = "document") -> tuple[bytes, SignatureRecord]:
    """One document signed as `sign_pdfs` signs a batch: the signed bytes and the stored record."""
    return sign_pdfs(store, identity_dir, signatory, [PdfToSign(pdf, object_ref, field, where)], meaning, tsa=tsa,
                     now=now)[0]
