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
