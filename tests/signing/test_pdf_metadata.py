"""Metadata changed after a PDF's last signature is reported by verification, though the signed bytes are intact."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.metadata.info import update_info_dict
from pyhanko.pdf_utils.metadata.model import DocumentMetadata
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from typer.testing import CliRunner

from qms.cli.main import app
from qms.signing.crl import issue_crl
from qms.signing.pdf import Signatory, sign_pdf, verify_pdf
from qms.signing.tsa import issue_tsa
from tests.signing.orgkit import CA_PASS, Org, passphrase, render_pdfa


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


def _edit_info_in_place(pdf: bytes, edit: Callable[[generic.DictionaryObject], None]) -> bytes:
    """The attacker's update: the existing /Info object edited and re-marked, the trailer left as it was."""
    out = io.BytesIO(pdf)
    writer = IncrementalPdfFileWriter(out)
    ref = writer.trailer.raw_get("/Info")
    edit(ref.get_object())
    writer.mark_update(ref)
    writer.write_in_place()
    return out.getvalue()


def _b_lt(org: Org, pdf: bytes) -> bytes:
    """Signed with the organisation TSA and the published CRL: pyHanko appends a DSS revision after the signature."""
    issue_tsa(org.home, CA_PASS)
    issue_crl(org.store, org.home, CA_PASS)
    signed, _ = sign_pdf(org.store, org.home, Signatory("bob", passphrase("bob")), pdf, "reviewed", "doc:1", tsa="local")
    document = PdfFileReader(io.BytesIO(signed))
    assert max(s.signed_revision for s in document.embedded_signatures) < document.xrefs.total_revisions - 1
    return signed


def test_a_real_b_lt_pdf_has_no_metadata_finding(org: Org, pdfa: bytes) -> None:
    """pyHanko's DSS revision after the last signature restamps /ModDate (and the XMP dates): that verifies clean."""
    dated = _edit_info_in_place(pdfa, lambda info: info.__setitem__(generic.NameObject("/ModDate"),
                                                                      generic.TextStringObject("D:20260101000000Z")))
    signed = _b_lt(org, dated)
    document = PdfFileReader(io.BytesIO(signed))
    dss = document.get_historical_resolver(document.xrefs.total_revisions - 1)
    assert document.trailer.raw_get("/Info").reference in dss.explicit_refs_in_revision()  # the DSS writer rewrote /Info
    report = verify_pdf(signed, org.trust())
    assert report.ok and report.reasons == (), report.reasons


def test_info_edited_in_place_after_a_b_lt_signature_is_reported(org: Org, pdfa: bytes) -> None:
    """Any /Info key changed, added or removed in the existing object after the DSS revision fails verification."""
    signed = _b_lt(org, _with_author(pdfa, "Ann"))
    edits: list[tuple[str, Callable[[generic.DictionaryObject], None]]] = [
        ("/Title", lambda info: info.__setitem__(generic.NameObject("/Title"),
                                                 generic.TextStringObject("Model card - cleared by FDA"))),
        ("/Keywords", lambda info: info.__setitem__(generic.NameObject("/Keywords"), generic.TextStringObject("ok"))),
        ("/Author", lambda info: info.__delitem__("/Author")),
        ("/Producer", lambda info: info.__setitem__(generic.NameObject("/Producer"), generic.TextStringObject("FDA"))),
    ]
    for key, edit in edits:
        report = verify_pdf(_edit_info_in_place(signed, edit), org.trust())
        assert not report.ok and report.reasons == (f"the document information ({key}) was changed after the last "
                                                    "signature",), (key, report.reasons)
        assert all(s.ok for s in report.signatures)


def test_verify_signature_cli_marks_only_failures(project: Path) -> None:
    """An intact signed PDF prints only ✓ lines and exits 0; an /Info edit after it prints the finding and exits 1."""
    pdf = project / "report.pdf"
    pdf.write_bytes(render_pdfa("<p>Synthetic report</p>"))
    runner = CliRunner()
    assert runner.invoke(app, ["sign", str(pdf), "--meaning", "authored", "--user", "alice"],
                         input="alice-passphrase\n").exit_code == 0
    clean = runner.invoke(app, ["verify-signature", str(pdf)])
    assert clean.exit_code == 0 and "✓" in clean.output and "✗" not in clean.output, clean.output
    pdf.write_bytes(_edit_info_in_place(pdf.read_bytes(), lambda info: info.__setitem__(
        generic.NameObject("/Title"), generic.TextStringObject("Cleared"))))
    edited = runner.invoke(app, ["verify-signature", str(pdf)])
    assert edited.exit_code == 1 and "✗ the document information (/Title) was changed" in edited.output, edited.output
    verdict = json.loads(runner.invoke(app, ["verify-signature", str(pdf), "--json"]).stdout)
    assert verdict["ok"] is False and verdict["reasons"]


_TEXT = st.text(st.characters(codec="latin-1", exclude_characters="\x00"), max_size=20)


@given(st.dictionaries(st.sampled_from(["/Producer", "/ModDate", "/Title", "/Author", "/Keywords"]), _TEXT),
       st.sampled_from(["/Title", "/Author", "/Keywords", "/Subject", "/Creator"]), _TEXT)
def test_only_pyhankos_own_info_restamp_is_exempt(before: dict[str, str], key: str, forged: str) -> None:
    """What pyHanko's writer of a later revision does to /Info (restamp /ModDate, append itself to /Producer) is
    exempt; a change of any other key is not."""
    from qms.signing.pdf.verify import _info_bookkeeping

    info = generic.DictionaryObject({generic.NameObject(k): generic.TextStringObject(v) for k, v in before.items()})
    update_info_dict(DocumentMetadata(), info, only_update_existing="/ModDate" in before)
    after = {str(k): str(v) for k, v in info.items()}
    assert all(_info_bookkeeping(k, before.get(k), after.get(k)) for k in set(before) | set(after)
               if before.get(k) != after.get(k))
    if before.get(key) != forged:
        assert not _info_bookkeeping(key, before.get(key), forged)
