"""Offline verification of every PAdES signature of a PDF and of its declared roles.

Because cutting a file back to an earlier revision silently drops later signatures,
`verify_pdf` requires every declared role to be signed. Metadata (/Info, XMP) changed in a
revision after the last signature fails verification (not a warning): the document no longer
presents itself as it was signed, though pyHanko's change analysis allows such an update. Only
the restamping pyHanko's own B-LT DSS revision does (dates, its /Producer suffix) is exempt.
"""

from __future__ import annotations

import re

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

from qms.signing import keys
from qms.signing.crl import with_crl
from qms.signing.errors import SigningError
from qms.signing.pdf.document import asn1, reader
from qms.signing.pdf.roles import DeclaredField, declared_fields
from qms.signing.status import SignatureStatus, failed
from qms.signing.timestamp import judge_tsa
from qms.signing.trust import Trust, iso

__all__ = ["PdfReport", "verify_pdf"]

_ALLOWED_CHANGES = ("NONE", "LTA_UPDATES", "FORM_FILLING")


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


def _trusted_time(ts: TimestampSignatureStatus | None, trust: Trust, name: str) -> tuple[datetime | None, list[str]]:
    """The RFC 3161 token over the signature value, the only time a verifier can trust: its time when it holds."""
    if ts is None:
        return None, []
    if ts.signing_cert is None:
        return None, [f"field {name}: the timestamp token carries no TSA certificate"]
    reasons = [] if ts.intact and ts.valid else [f"field {name}: the signature's timestamp token does not verify"]
    reasons += judge_tsa(x509.load_der_x509_certificate(ts.signing_cert.dump()), ts.timestamp, ts.trusted, trust,
                         f"field {name}")
    return (None if reasons else ts.timestamp), reasons


def _one(sig: EmbeddedPdfSignature, trust: Trust, declared: dict[str, DeclaredField]) -> SignatureStatus:
    name = str(sig.field_name)
    try:
        cert = x509.load_der_x509_certificate(sig.signer_cert.dump())
        at = sig.self_reported_timestamp
        vc = ValidationContext(trust_roots=[asn1(a) for a in trust.anchors], allow_fetching=False, moment=at)
        st = validate_pdf_signature(sig, vc)
    except Exception as exc:  # noqa: BLE001 - any failure to parse or check a signature is a finding, not a crash
        return failed(f"the signature in field {name} cannot be checked: {exc}", field=name)
    stamped, reasons = _trusted_time(st.timestamp_validity, trust, name)
    time_trusted = stamped is not None
    at = stamped or at
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
    check = trust.check(cert, at, trusted_time=time_trusted) if at is not None else None
    if check is None:
        reasons.append(f"field {name}: the signature carries no signing time")
    intact = st.intact and level in _ALLOWED_CHANGES and st.docmdp_ok is not False
    return SignatureStatus(
        intact=intact, valid=st.valid and check is not None and check.valid,
        trusted=st.trusted and check is not None and check.trusted, signer=keys.subject_name(cert),
        user_id=keys.subject_user_id(cert), meaning=meaning, signed_at=iso(at) if at else None, object_ref=None,
        sha256=None, interactive=None, certificate=keys.fingerprint(cert),
        reasons=tuple(reasons) + (check.reasons if check else ()), field=name, time_trusted=time_trusted,
        warnings=check.warnings if check else (),
    )


def _with_dss_crls(document: PdfFileReader, trust: Trust, problems: list[str]) -> Trust:
    """PAdES B-LT: the revocation lists in the document's DSS count too, once a trusted CA is found to have signed them."""
    try:
        dss = DocumentSecurityStore.read_dss(document)
    except NoDSSFoundError:
        return trust
    for ref in dss.crls:
        try:
            trust = with_crl(trust, ref.get_object().data, "DSS")
        except SigningError as exc:
            problems.append(f"the document's DSS: {exc.message}")
    return trust


def _metadata(document: PdfFileReader, revision: int) -> tuple[dict[str, str], bytes | None]:
    """The document information dictionary (/Info) and the XMP metadata stream as of `revision`.

    The trailer's /Info reference is resolved in the historical view: resolving it through the reader would give
    the latest revision's dictionary, so an /Info edited in place would compare equal to itself.
    """
    view = document.get_historical_resolver(revision)
    trailer = view.trailer_view
    ref = trailer.raw_get("/Info") if "/Info" in trailer else {}
    info = view.get_object(ref.reference) if isinstance(ref, generic.IndirectObject) else ref
    xmp = view.root.get("/Metadata")
    return {str(k): str(v) for k, v in info.items()}, (xmp.get_object().data if xmp is not None else None)


# The writer of an allowed later revision (the DSS of PAdES B-LT) stamps the XMP modification date: a change
# of these dates alone is that bookkeeping, not an edit of what the record says.
_XMP_DATES = re.compile(rb'(xmp:(?:ModifyDate|MetadataDate))(?:="[^"]*"|>[^<]*</xmp:(?:ModifyDate|MetadataDate)>)')
# ... and in /Info (pyhanko.pdf_utils.metadata.info.update_info_dict) it restamps /ModDate and appends itself
# to /Producer; it writes no other key unless told to.
_PYHANKO = r"pyHanko \S+"


def _xmp_content(xmp: bytes | None) -> bytes | None:
    return None if xmp is None else _XMP_DATES.sub(rb"\1", xmp)


def _info_bookkeeping(key: str, then: str | None, now: str | None) -> bool:
    """Whether this /Info change is one pyHanko's own writer of a later revision makes."""
    if now is None:
        return False
    if key == "/ModDate":
        return now.startswith("D:")
    if key == "/Producer":
        return re.fullmatch(_PYHANKO if then is None else re.escape(then) + "; " + _PYHANKO, now) is not None
    return False


def _metadata_changes(document: PdfFileReader) -> list[str]:
    """Metadata changed after the last signature: pyHanko's change analysis allows it, a reader of the record must not.

    Any /Info key added, removed or changed counts, except pyHanko's own restamping (see `_info_bookkeeping`).
    """
    signed = [sig.signed_revision for sig in document.embedded_signatures]
    final = document.xrefs.total_revisions - 1
    if not signed or max(signed) >= final:
        return []
    (info_then, xmp_then), (info_now, xmp_now) = _metadata(document, max(signed)), _metadata(document, final)
    changed = sorted(k for k in set(info_then) | set(info_now) if info_then.get(k) != info_now.get(k)
                     and not _info_bookkeeping(k, info_then.get(k), info_now.get(k)))
    out = [f"the document information ({', '.join(changed)}) was changed after the last signature"] if changed else []
    if _xmp_content(xmp_then) != _xmp_content(xmp_now):
        out.append("the XMP metadata was changed after the last signature")
    return out


def verify_pdf(pdf: bytes, trust: Trust, *, required_roles: Sequence[str] = (), where: str = "document") -> PdfReport:
    """Check every signature offline and that every declared (and required) role is signed."""
    document = reader(pdf, where)
    declared = [f for f in declared_fields(document) if f.reasons]
    by_name = {f.name: f for f in declared}
    dss_problems: list[str] = []
    trust = _with_dss_crls(document, trust, dss_problems)
    statuses = tuple(_one(sig, trust, by_name) for sig in document.embedded_signatures)
    signed = {s.field for s in statuses}
    missing = tuple(f.name for f in declared if f.name not in signed)
    missing += tuple(r for r in required_roles if r not in by_name and r not in signed)
    reasons = dss_problems + ([] if statuses else ["the document carries no signature"]) + _metadata_changes(document)
    reasons += [f"field {s.field} is signed but was never declared as a role" for s in statuses
                if by_name and s.field not in by_name]
    return PdfReport(statuses, tuple(by_name), missing, tuple(reasons))
