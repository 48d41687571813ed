"""PAdES signatures on PDF/A documents: declared roles, incremental signing, offline verification."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers

from qms.hashing import sha256_hex
from qms.signing import SignatureRecord, SigningError, Trust, WrongPassphrase, revoke
from qms.signing.pdf import RoleSpec, Signatory, prepare_signature_fields, sign_pdf, verify_pdf
from qms.signing.pdf.sign import pyhanko_signer
from qms.signing.sign import unlock
from qms.signing.stamp import font_path
from tests.signing.orgkit import Org, passphrase

pytestmark = pytest.mark.verifies("QMS-REQ-003")

ROLES = [RoleSpec.of("author", "authored", ["alice"]), RoleSpec.of("reviewer", "reviewed", ["bob"]),
         RoleSpec.of("approver", "approved", ["carol"])]
SIGNERS = [("alice", "authored"), ("bob", "reviewed"), ("carol", "approved")]


def _revisions(org: Org, pdf: bytes) -> list[bytes]:
    """The prepared document and each of its three signed revisions."""
    out = [prepare_signature_fields(org.store, org.home, pdf, ROLES)]
    for uid, meaning in SIGNERS:
        signed, _ = sign_pdf(org.store, org.home, Signatory(uid, passphrase(uid)), out[-1], meaning, "doc:test-report")
        out.append(signed)
    return out


def test_three_incremental_signatures_all_verify(org: Org, pdfa: bytes) -> None:
    """Author, reviewer and approver sign in turn; every signature verifies with its signer, meaning and time."""
    revs = _revisions(org, pdfa)
    for earlier, later in zip(revs, revs[1:]):
        assert later.startswith(earlier)
    report = verify_pdf(revs[-1], org.trust())
    assert report.ok, report.to_json()
    assert [(s.field, s.signer, s.user_id, s.meaning) for s in report.signatures] == [
        ("author", "Alice Author", "alice", "authored"), ("reviewer", "Bob Reviewer", "bob", "reviewed"),
        ("approver", "Carol Approver", "carol", "approved")]
    assert all(s.intact and s.valid and s.trusted and s.signed_at for s in report.signatures)
    records = org.store.all(SignatureRecord)
    assert [r.sha256 for r in records] == [sha256_hex(r) for r in revs[:3]]


@pytest.mark.external
def test_pdfsig_reports_every_signature_valid(org: Org, pdfa: bytes, tmp_path: Path) -> None:
    """poppler's pdfsig, an independent implementation, finds three signatures and reports each valid."""
    if shutil.which("pdfsig") is None:
        pytest.skip("pdfsig (poppler-utils) is not installed")
    path = tmp_path / "signed.pdf"
    path.write_bytes(_revisions(org, pdfa)[-1])
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 3, out
    for field in ("author", "reviewer", "approver"):
        assert f"Signature Field Name: {field}" in out


def test_truncation_to_an_earlier_revision_is_caught(org: Org, pdfa: bytes) -> None:
    """Cutting the file back to the reviewer's revision leaves valid signatures but the approver role unsigned."""
    revs = _revisions(org, pdfa)
    report = verify_pdf(revs[2], org.trust())
    assert all(s.ok for s in report.signatures) and len(report.signatures) == 2
    assert report.missing == ("approver",) and not report.ok
    unsigned = verify_pdf(revs[0], org.trust())
    assert unsigned.missing == ("author", "reviewer", "approver") and not unsigned.ok


def test_required_roles_catch_a_document_cut_before_its_fields(org: Org, pdfa: bytes) -> None:
    """A verifier naming the required roles fails a document that no longer declares them."""
    report = verify_pdf(pdfa, org.trust(), required_roles=["author", "reviewer", "approver"])
    assert not report.ok and report.missing == ("author", "reviewer", "approver")


def test_one_changed_byte_is_detected(org: Org, pdfa: bytes) -> None:
    """Changing one byte inside the signed content makes the signatures covering it fail."""
    signed = _revisions(org, pdfa)[-1]
    at = signed.index(b"/MediaBox") + 12
    tampered = signed[:at] + bytes([signed[at] ^ 0x01]) + signed[at + 1:]
    report = verify_pdf(tampered, org.trust())
    assert not report.ok
    assert not all(s.intact for s in report.signatures)


def test_roles_restrict_signer_meaning_and_order(org: Org, pdfa: bytes) -> None:
    """A field refuses the wrong signer, the wrong meaning and signing before the earlier roles (§11.10(f))."""
    prepared = prepare_signature_fields(org.store, org.home, pdfa, ROLES)
    with pytest.raises(SigningError, match="signed after author"):
        sign_pdf(org.store, org.home, Signatory("bob", passphrase("bob")), prepared, "reviewed", "doc:t", field="reviewer")
    with pytest.raises(SigningError, match="not an allowed signer"):
        sign_pdf(org.store, org.home, Signatory("bob", passphrase("bob")), prepared, "authored", "doc:t", field="author")
    with pytest.raises(SigningError, match="no unsigned field"):
        sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), prepared, "reviewed", "doc:t")
    assert org.store.all(SignatureRecord) == []


def test_bad_input_signs_and_records_nothing(org: Org, pdfa: bytes) -> None:
    """A file that is not a PDF, and a wrong passphrase, are clear errors with no signature recorded."""
    with pytest.raises(SigningError, match="not a PDF"):
        sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), b"GIF89a not a pdf", "authored", "doc:t")
    with pytest.raises(SigningError, match="not a readable PDF|not a PDF"):
        sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), b"%PDF-1.7\ngarbage", "authored", "doc:t")
    with pytest.raises(WrongPassphrase):
        sign_pdf(org.store, org.home, Signatory("alice", "wrong-passphrase"), pdfa, "authored", "doc:t")
    assert org.store.all(SignatureRecord) == []


def test_revoked_signer_cannot_sign_and_untimestamped_pdf_signature_fails(org: Org, pdfa: bytes) -> None:
    """After the author's revocation their untimestamped PDF signature fails (its time is only claimed) and they cannot sign."""
    prepared = prepare_signature_fields(org.store, org.home, pdfa, ROLES)
    signed, _ = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), prepared, "authored", "doc:t")
    before = verify_pdf(signed, org.trust()).signatures[0]
    assert before.ok and not before.time_trusted and before.warnings
    revoke(org.store, "alice", "left the company", actor="admin")
    after = verify_pdf(signed, org.trust()).signatures[0]
    assert not after.ok and any("self-reported" in r for r in after.reasons)
    with pytest.raises(SigningError, match="revoked"):
        sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:u")


def test_unknown_ca_is_untrusted(org: Org, pdfa: bytes, tmp_path: Path) -> None:
    """Verified without the organisation CA, a signature is intact but not trusted."""
    signed, _ = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:t")
    status = verify_pdf(signed, Trust.from_store(org.store, tmp_path / "nobody")).signatures[0]
    assert status.intact and not status.trusted and not status.ok


def test_undeclared_document_gets_its_own_field(org: Org, pdfa: bytes) -> None:
    """A PDF without declared roles is signed into a new visible field that then verifies."""
    signed, rec = sign_pdf(org.store, org.home, Signatory("ci", passphrase("ci"), non_interactive=True), pdfa, "authored", "doc:t")
    report = verify_pdf(signed, org.trust())
    assert report.ok and report.signatures[0].user_id == "ci" and not rec.interactive


def _fonts(pdf: bytes) -> list[Any]:
    reader = PdfFileReader(io.BytesIO(pdf))
    found = []
    for sig in reader.embedded_signatures:
        widget = sig.sig_field
        ap = widget["/AP"]["/N"]
        for xobj in ap["/Resources"].get("/XObject", {}).values():
            res = xobj.get_object().get("/Resources", {})
            for font in res.get("/Font", {}).values():
                found.append(font.get_object())
        for font in ap["/Resources"].get("/Font", {}).values():
            found.append(font.get_object())
    return found


def test_signature_block_embeds_an_unstretched_font_and_keeps_pdfa(org: Org, pdfa: bytes) -> None:
    """The block's font is embedded with widths in 1/1000 em (not stretched); PDF/A stays declared, 1.7, Info = XMP."""
    signed = _revisions(org, pdfa)[-1]
    fonts = _fonts(signed)
    assert fonts, "the signature appearance has no font"
    hmtx = TTFont(font_path())["hmtx"]
    assert TTFont(font_path())["head"].unitsPerEm == 1000
    advances = {hmtx[name][0] for name in hmtx.metrics}
    for font in fonts:
        cid = font["/DescendantFonts"][0].get_object()
        assert "/FontFile2" in cid["/FontDescriptor"]
        widths = [w for i, item in enumerate(cid["/W"]) if i % 2 for w in item]
        assert widths and set(widths) <= advances
    reader = PdfFileReader(io.BytesIO(signed))
    xmp = reader.root["/Metadata"].get_object().data
    assert b"pdfaid:part>3<" in xmp or b'pdfaid:part="3"' in xmp
    assert "/OutputIntents" in reader.root
    producer = re.search(rb'pdf:Producer="([^"]*)"', xmp)
    assert producer and str(reader.trailer_view["/Info"]["/Producer"]).encode() == producer.group(1)
    assert signed.startswith(b"%PDF-1.7") and str(reader.root.get("/Version", "/1.7")) == "/1.7"


@pytest.mark.external
def test_signature_block_text_is_extractable(org: Org, pdfa: bytes, tmp_path: Path) -> None:
    """pdftotext reads the printed name, user id and meaning back from the visible block (§11.50(b))."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "signed.pdf"
    path.write_bytes(_revisions(org, pdfa)[-1])
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for line in ("Alice Author (alice)", "Meaning: reviewed", "Carol Approver (carol)", "UTC"):
        assert line in text


def test_signature_added_outside_the_declared_roles_is_flagged(org: Org, pdfa: bytes) -> None:
    """A signature slipped into a new, undeclared field after the author signed breaks the author's field lock."""
    author_signed = _revisions(org, pdfa)[1]
    signer = pyhanko_signer(unlock(org.store, org.home, "bob", passphrase("bob"), "reviewed"), org.trust())
    out = io.BytesIO()
    meta = signers.PdfSignatureMetadata(field_name="rogue", subfilter=fields.SigSeedSubFilter.PADES)
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(author_signed)), meta, signer, output=out)
    report = verify_pdf(out.getvalue(), org.trust())
    assert not report.ok
    author = report.signatures[0]
    assert author.field == "author" and not author.intact
    assert "field rogue is signed but was never declared as a role" in report.reasons


def test_second_ad_hoc_signature_gets_a_new_field(org: Org, pdfa: bytes) -> None:
    """Without declared roles, each signature goes into a field of its own and all of them verify."""
    once, _ = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), pdfa, "authored", "doc:t")
    twice, _ = sign_pdf(org.store, org.home, Signatory("bob", passphrase("bob")), once, "reviewed", "doc:t")
    report = verify_pdf(twice, org.trust())
    assert report.ok and [s.field for s in report.signatures] == ["signature1", "signature2"]
