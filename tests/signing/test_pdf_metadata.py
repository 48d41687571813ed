"""Metadata changed after a PDF's last signature is reported by verification, though the signed bytes are intact."""

from __future__ import annotations

import io

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from qms.signing.pdf import Signatory, sign_pdf, verify_pdf
from tests.signing.orgkit import Org, passphrase


def _with_author(pdf: bytes, author: str) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    info = writer.trailer["/Info"].get_object() if "/Info" in writer.trailer else generic.DictionaryObject()
    writer.set_info(generic.DictionaryObject({**info, generic.NameObject("/Author"): generic.TextStringObject(author)}))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_info_change_after_last_signature_is_reported(org: Org, pdfa: bytes) -> None:
    """An /Info update appended after the last signature makes verification fail, naming the changed key."""
    signed, _ = sign_pdf(org.store, org.home, Signatory("bob", passphrase("bob")), pdfa, "reviewed", "doc:1")
    assert verify_pdf(signed, org.trust()).ok
    report = verify_pdf(_with_author(signed, "Mallory"), org.trust())
    assert not report.ok and report.reasons == ("the document information (/Author) was changed after the last signature",)


def test_info_set_before_signing_is_signed_content(org: Org, pdfa: bytes) -> None:
    """Metadata changed before a signature is part of what that signature covers: the document verifies."""
    signed, _ = sign_pdf(org.store, org.home, Signatory("bob", passphrase("bob")), _with_author(pdfa, "Ann"), "reviewed",
                         "doc:1")
    assert verify_pdf(signed, org.trust()).ok


def test_a_later_revision_that_only_restamps_the_xmp_dates_is_not_a_metadata_change() -> None:
    """The writer of an allowed later revision (PAdES B-LT's DSS) restamps xmp:ModifyDate; that alone is not reported
    as a change after the last signature, while any other XMP change still is."""
    from qms.signing.pdf.verify import _xmp_content

    def xmp(modified: str, title: str) -> bytes:
        return (f'<rdf:Description xmp:ModifyDate="{modified}" xmp:MetadataDate="{modified}"><dc:title>{title}'
                f'</dc:title><xmp:ModifyDate>{modified}</xmp:ModifyDate></rdf:Description>').encode()

    signed = xmp("2026-12-06T05:50:42+00:00", "Validation Report")
    assert _xmp_content(signed) == _xmp_content(xmp("2026-12-06T05:50:43+00:00", "Validation Report"))
    assert _xmp_content(signed) != _xmp_content(xmp("2026-12-06T05:50:42+00:00", "RESULT: FAILED - FORGED"))
