"""Signature stamps sit in their own cells of the signatures table, never over another row (#15 item 6)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields

from qms.documents.build import attachments, document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.render import DocumentHeader, Renderer
from qms.documents.sample import sample_evidence
from qms.signing.pdf import RoleSpec, Signatory, prepare_signature_fields, sign_pdf
from tests.signing.orgkit import Org, passphrase

pytestmark = [pytest.mark.verifies("QMS-REQ-003"), pytest.mark.external]

ROLES = {"author": ("alice", "authored"), "reviewer": ("bob", "reviewed"), "approver": ("carol", "approved")}
Rect = tuple[float, float, float, float]


def _signed_one_page_document(org: Org) -> tuple[bytes, dict[str, tuple[int, Rect]]]:
    ev = sample_evidence()
    kind = DocumentKind.ANOMALIES
    header = DocumentHeader("Synthetic Triage", "Example Ltd", "1.0.0", signers={r: (u,) for r, (u, _) in ROLES.items()})
    doc = Renderer(header).render(kind, document_data(kind, ev), attachments(kind, ev))
    pdf = prepare_signature_fields(org.store, org.home, doc.pdf, [RoleSpec.of(r, m, [u]) for r, (u, m) in ROLES.items()],
                                   cells=doc.signature_cells)
    for role, (uid, meaning) in ROLES.items():
        pdf, _ = sign_pdf(org.store, org.home, Signatory(uid, passphrase(uid)), pdf, meaning, "doc:anomaly-list",
                          field=role)
    return pdf, doc.signature_cells


def _stamps(pdf: bytes) -> tuple[int, float, dict[str, Rect]]:
    """The page count, the page height and each signature field's widget rectangle."""
    reader = PdfFileReader(io.BytesIO(pdf))  # type: ignore[no-untyped-call]
    page = reader.root["/Pages"]
    height = float(page["/Kids"][0].get_object()["/MediaBox"][3])
    rects = {}
    for name, _, ref in fields.enumerate_sig_fields(reader):
        x0, y0, x1, y1 = (float(v) for v in ref.get_object()["/Rect"])
        rects[str(name)] = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return int(page["/Count"]), height, rects


def _words(pdf: bytes, tmp_path: Path, height: float) -> dict[str, Rect]:
    """Each word's last box on the page (the table comes last), in PDF coordinates, read by poppler's pdftotext."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    words = {}
    for x0, y0, x1, y1, word in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                                           r"([^<]*)</word>", out):
        words[word] = (float(x0), height - float(y1), float(x1), height - float(y0))
    return words


def _disjoint(a: Rect, b: Rect) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def _within(inner: Rect, outer: Rect) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def test_each_stamp_lies_in_its_own_rows_signature_cell(org: Org, tmp_path: Path) -> None:
    """On a one-page document the three stamps are disjoint, each inside its role's cell, level with its row's text only."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf, cells = _signed_one_page_document(org)
    pages, height, stamps = _stamps(pdf)
    assert pages == 1 and sorted(stamps) == sorted(ROLES) and sorted(cells) == sorted(ROLES)
    names = sorted(stamps)
    assert all(_disjoint(stamps[a], stamps[b]) for a in names for b in names if a < b), stamps
    words = _words(pdf, tmp_path, height)
    for role, (_, meaning) in ROLES.items():
        page, cell = cells[role]
        assert page == 0 and _within(stamps[role], cell), (role, stamps[role], cell)
        x0, y0, x1, y1 = stamps[role]
        for other in ROLES:  # the row's role word is level with its stamp; no other row's is
            middle = (words[other][1] + words[other][3]) / 2
            assert (y0 < middle < y1) == (other == role), (role, other, stamps[role], words[other])
        assert x0 >= words[meaning][2], (role, "the stamp covers the row's text", stamps[role], words[meaning])
