"""Reading and incrementally rewriting a PDF with pyHanko, and the certificate form pyHanko takes."""

from __future__ import annotations

import io

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from qms.signing.errors import SigningError

__all__ = ["asn1", "is_pdf", "page_width", "reader", "writer"]


def asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def is_pdf(data: bytes) -> bool:
    return data.lstrip()[:5] == b"%PDF-"


def reader(pdf: bytes, where: str) -> PdfFileReader:
    if not is_pdf(pdf):
        raise SigningError("not a PDF file (no %PDF- header)", where=where)
    try:
        found = PdfFileReader(io.BytesIO(pdf), strict=False)
        _ = found.root
    except (PdfError, ValueError, KeyError, IndexError) as exc:
        raise SigningError(f"not a readable PDF: {exc}", where=where) from exc
    return found


def writer(pdf: bytes, where: str) -> IncrementalPdfFileWriter:
    """An incremental writer whose /Info /Producer will equal the XMP pdf:Producer.

    PDF/A-2/3 (ISO 19005-2 §6.6.2.3) require the two to agree; pyHanko writes its own
    name into the XMP and appends it to /Info, so /Info is set to the same name first.
    """
    reader(pdf, where)
    try:
        out = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError) as exc:
        raise SigningError(f"not a readable PDF: {exc}", where=where) from exc
    info = out.trailer.raw_get("/Info") if "/Info" in out.trailer else None
    if isinstance(info, generic.IndirectObject):
        info.get_object()["/Producer"] = generic.TextStringObject(VENDOR)  # type: ignore[no-untyped-call]
        out.mark_update(info)
    return out


def page_width(out: IncrementalPdfFileWriter) -> float:
    page = out.find_page_for_modification(-1)[0].get_object()  # type: ignore[no-untyped-call]
    box = page.get("/MediaBox")
    return float(box[2]) - float(box[0]) if box is not None else 595.0
