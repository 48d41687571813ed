"""`sign_pdfs`: one passphrase signs a batch, forked processes sign, this process records in order; all or nothing."""

from __future__ import annotations

import pytest

from qms.hashing import sha256_hex
from qms.signing import SignatureRecord, SigningError, WrongPassphrase
from qms.signing.pdf import PdfToSign, RoleSpec, Signatory, prepare_signature_fields, sign_pdfs, verify_pdf
from qms.store import Store
from tests.signing.orgkit import Org, passphrase, render_pdfa

pytestmark = pytest.mark.verifies("QMS-REQ-003")

ROLES = [RoleSpec.of("author", "authored", ["alice"]), RoleSpec.of("reviewer", "reviewed", ["bob"])]


def _documents(org: Org, count: int) -> list[PdfToSign]:
    return [PdfToSign(prepare_signature_fields(org.store, org.home, render_pdfa(f"<p>Synthetic document {n}</p>"), ROLES),
                      f"doc:batch-{n}", "author", f"doc-{n}.pdf") for n in range(count)]


def _records(store: Store) -> list[SignatureRecord]:
    return list(store.all(SignatureRecord))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_batch_is_signed_and_recorded_in_order(org: Org, workers: int) -> None:
    """Each document comes back signed in its author field and verifies; its record follows the documents' order and
    names the bytes signed and the bytes written."""
    documents = _documents(org, 4)
    signed = sign_pdfs(org.store, org.home, Signatory("alice", passphrase("alice")), documents, "authored",
                       workers=workers)
    for doc, (pdf, record) in zip(documents, signed, strict=True):
        report = verify_pdf(pdf, org.trust())
        assert [(s.field, s.user_id, s.ok) for s in report.signatures] == [("author", "alice", True)]
        assert pdf.startswith(doc.pdf)
        assert (record.object_ref, record.sha256, record.output_sha256) == (doc.object_ref, sha256_hex(doc.pdf),
                                                                             sha256_hex(pdf))
    assert [r.object_ref for r in _records(org.store)] == [d.object_ref for d in documents]


def test_a_document_that_cannot_take_the_signature_stops_the_batch_before_any_record(org: Org) -> None:
    """The third document's author field is already signed: the batch is refused, naming it, and nothing is recorded."""
    documents = _documents(org, 3)
    first = sign_pdfs(org.store, org.home, Signatory("alice", passphrase("alice")), documents[2:], "authored")
    before = len(_records(org.store))
    documents[2] = PdfToSign(first[0][0], documents[2].object_ref, "author", documents[2].where)
    with pytest.raises(SigningError, match="already signed") as caught:
        sign_pdfs(org.store, org.home, Signatory("alice", passphrase("alice")), documents, "authored", workers=2)
    assert caught.value.where == "doc-2.pdf"
    assert len(_records(org.store)) == before


def test_a_wrong_passphrase_signs_nothing(org: Org) -> None:
    with pytest.raises(WrongPassphrase):
        sign_pdfs(org.store, org.home, Signatory("alice", "not her passphrase"), _documents(org, 2), "authored", workers=2)
    assert _records(org.store) == []


def test_a_failure_inside_a_signing_child_reaches_the_caller_and_records_nothing(org: Org) -> None:
    """The timestamp server does not answer: the children's pyHanko fails, the error names the TSA, nothing is
    recorded and no signed bytes come back."""
    tsa = "http://127.0.0.1:9/tsa"  # the discard port: nothing listens
    with pytest.raises(SigningError, match="did not answer") as caught:
        sign_pdfs(org.store, org.home, Signatory("alice", passphrase("alice")), _documents(org, 3), "authored", tsa=tsa,
                  workers=2)
    assert caught.value.where == tsa
    assert _records(org.store) == []
