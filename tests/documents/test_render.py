"""Evidence documents render to PDF/A-3b with their data attached, pages not blank, and say what their HTML says."""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from qms.documents.build import attachments, document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.evidence import Evidence
from qms.documents.render import Attachment, DocumentHeader, Rendered, Renderer, render_all
from qms.documents.sample import sample_evidence
from qms.errors import QmsError

pytestmark = pytest.mark.verifies("QMS-REQ-010")

HEADER = DocumentHeader("Synthetic Triage", "Example Ltd", "1.0.0", 1,
                        {"author": ("a.author",), "reviewer": ("r.reviewer",), "approver": ("p.approver",)})


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[DocumentKind, tuple[Rendered, Path]]:
    ev = sample_evidence(failing=("REQ-002",))
    out = tmp_path_factory.mktemp("docs")
    docs = {}
    kinds = list(DocumentKind)
    for kind, (doc, _) in zip(kinds, render_all(Renderer(HEADER), kinds, functools.partial(_inputs, ev=ev), workers=2),
                              strict=True):
        path = out / f"{kind.value}.pdf"
        path.write_bytes(doc.pdf)
        docs[kind] = (doc, path)
    return docs


def _inputs(kind: DocumentKind, *, ev: Evidence) -> tuple[dict[str, Any], list[Attachment]]:
    return document_data(kind, ev), attachments(kind, ev)


def _text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _ids(text: str) -> set[str]:
    return set(re.findall(r"\b(?:REQ|RC|HAZ|UN|ARCH|ANOM|VAL-[A-Z]+)-\d{3}\b", text))


@pytest.mark.external
def test_every_document_renders_non_blank_pages(rendered: dict[DocumentKind, tuple[Rendered, Path]], tmp_path: Path) -> None:
    """Each of the thirteen documents is a PDF whose first page has ink on it (pdftoppm)."""
    assert len(rendered) == 13
    for kind, (_, path) in rendered.items():
        subprocess.run(["pdftoppm", "-r", "20", "-gray", "-f", "1", "-l", "1", str(path), str(tmp_path / kind.value)], check=True)
        pgm = next(tmp_path.glob(f"{kind.value}*.pgm")).read_bytes()
        pixels = pgm.split(b"\n", 3)[3]
        assert min(pixels) < 128, f"{kind.value}: first page is blank"


@pytest.mark.external
def test_pdf_text_has_header_footer_and_key_ids(rendered: dict[DocumentKind, tuple[Rendered, Path]]) -> None:
    """Every page carries the document id and revision and 'page x of y'; the ids of the HTML are in the PDF."""
    for kind, (doc, path) in rendered.items():
        text = _text(path)
        assert f"{doc.document_id} rev. 1" in text
        assert re.search(r"page 1 of \d+", text)
        html_ids = _ids(re.sub(r"<[^>]+>", " ", doc.html))
        assert html_ids <= _ids(text), f"{kind.value}: ids in HTML but not in PDF: {html_ids - _ids(text)}"
    assert {"REQ-001", "REQ-002", "RC-001"} <= _ids(_text(rendered[DocumentKind.TRACE][1]))


@pytest.mark.external
def test_pdf_is_pdfa3b_with_attachments(rendered: dict[DocumentKind, tuple[Rendered, Path]]) -> None:
    """The trace matrix and SOUP list carry their machine-readable data as PDF/A-3 attachments."""
    for kind, names in ((DocumentKind.TRACE, {"trace.json", "trace.csv"}), (DocumentKind.SOUP, {"soup.json", "soup.csv"})):
        path = rendered[kind][1]
        listing = subprocess.run(["pdfdetach", "-list", str(path)], capture_output=True, text=True, check=True).stdout
        assert names <= set(re.findall(r"\d+: (\S+)", listing))
        meta = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True, text=True, check=True).stdout
        assert 'pdfaid:part="3"' in meta and 'pdfaid:conformance="B"' in meta


def test_failing_test_shows_as_gap_in_trace_matrix(rendered: dict[DocumentKind, tuple[Rendered, Path]]) -> None:
    """A requirement whose test failed is listed under the trace matrix's gaps and is not 'verified'."""
    html = rendered[DocumentKind.TRACE][0].html
    gaps = html.split("<h2>Gaps</h2>")[1].split("</table>")[0]
    assert "REQ-002" in gaps and "REQ-001" not in gaps


def test_undefined_template_variable_is_an_error() -> None:
    """A template asking for data the document lacks fails (StrictUndefined), naming the template."""
    data = document_data(DocumentKind.ANOMALIES, sample_evidence())
    del data["anomalies"]
    with pytest.raises(QmsError) as exc:
        Renderer(HEADER).html(DocumentKind.ANOMALIES, data, [])
    assert exc.value.where == "anomaly-list.html.j2"


def test_large_trace_prints_grouped_view_only() -> None:
    """Above the row limit the trace matrix prints the grouped view and leaves the rows to the attachments."""
    data = document_data(DocumentKind.TRACE, sample_evidence(requirements=400))
    assert not data["full"] and data["groups"][0]["total"] == 400
    html = Renderer(HEADER).html(DocumentKind.TRACE, data, [])
    assert "REQ-399" not in html and "see the attachments" in html


def test_item_needing_no_test_is_not_a_gap() -> None:
    """An architecture item the trace judges 'no test required' counts as verified, not as a gap."""
    ev = sample_evidence()
    ev.trace_rows.append({"item": "ARCH-001", "type": "architecture", "tests": [], "status": "no test required",
                          "verified": True, "reason": ""})
    data = document_data(DocumentKind.TRACE, ev)
    assert "ARCH-001" not in {g["item"] for g in data["gaps"]}
    assert data["groups"][0]["verified"] == data["groups"][0]["total"]


def test_one_renderer_writes_each_document_as_a_fresh_renderer_would() -> None:
    """Documents rendered one after another by one renderer (sharing its loaded fonts) are byte for byte the
    documents a fresh renderer writes for each."""
    from datetime import UTC, datetime

    ev, when = sample_evidence(), datetime(2026, 1, 1, tzinfo=UTC)
    header = DocumentHeader("Synthetic Triage", "Example Ltd", "1.0.0")
    kinds = [DocumentKind.ANOMALIES, DocumentKind.SOUP, DocumentKind.ANOMALIES]
    shared = Renderer(header)
    for kind in kinds:
        fresh = Renderer(header).render(kind, document_data(kind, ev), attachments(kind, ev), created=when)
        again = shared.render(kind, document_data(kind, ev), attachments(kind, ev), created=when)
        assert again.pdf == fresh.pdf


@pytest.mark.parametrize("kind", [DocumentKind.TRACE, DocumentKind.SOUP])
def test_rendered_side_by_side_as_in_one_process(kind: DocumentKind, rendered: dict[DocumentKind, tuple[Rendered, Path]],
                                                 tmp_path: Path) -> None:
    """A document rendered by a forked child (`render_all`, as `qms release` does) is the one this process renders:
    the same HTML, signature cells and text on its pages."""
    ev = sample_evidence(failing=("REQ-002",))
    here = Renderer(HEADER).render(kind, *_inputs(kind, ev=ev))
    child, path = rendered[kind]
    (tmp_path / "here.pdf").write_bytes(here.pdf)
    assert (child.html, child.signature_cells) == (here.html, here.signature_cells)
    assert _text(path) == _text(tmp_path / "here.pdf")
