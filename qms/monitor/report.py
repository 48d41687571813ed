"""The monitoring report: HTML and PDF/A-3b with the same look as the evidence documents, data attached.

It uses the documents renderer's template environment and pinned fonts (`qms.documents.render`);
it is not a release document, so it is not a `DocumentKind` (a release renders every kind).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from qms.documents.render import FONT_DIR, DocumentHeader, Renderer
from qms.monitor.service import MonitoringReport
from qms.signing.pdf.sign import sign_pdf
from qms.signing.records import SignatureRecord
from qms.signing.signatory import Signatory
from qms.store import Store

__all__ = ["MonitoringDocument", "TEMPLATE", "render_report", "sign_report"]

TEMPLATE = "monitoring-report.html.j2"
TITLE = "Post-Market Monitoring Report"


@dataclass(frozen=True)
class MonitoringDocument:
    document_id: str
    html: str
    pdf: bytes


def render_report(report: MonitoringReport, header: DocumentHeader, commit: str, *, pdf: bool = True,
                  created: datetime | None = None) -> MonitoringDocument:
    """The report's HTML (and its PDF, the report's JSON attached as a PDF/A-3 associated file)."""
    renderer = Renderer(header)
    when = created or datetime.now(UTC)
    doc_id = f"PMS-{report.model_ref}-{when:%Y%m%dT%H%M}"
    data = json.loads(json.dumps(report.to_json()))
    html = renderer.env.get_template(TEMPLATE).render(
        doc={"kind": "monitoring-report", "title": TITLE, "id": doc_id, "attachments": ["monitoring.json"]},
        header=header, fonts=renderer.fonts, release={"commit": commit}, m=data)
    if not pdf:
        return MonitoringDocument(doc_id, html, b"")
    import weasyprint

    attached = weasyprint.Attachment(file_obj=io.BytesIO(json.dumps(data, indent=1).encode()), name="monitoring.json",
                                     description="the monitoring pass, machine-readable", relationship="Data",
                                     created=when, modified=when)
    out = weasyprint.HTML(string=html, base_url=str(FONT_DIR)).write_pdf(
        pdf_variant="pdf/a-3b", attachments=[attached], pdf_identifier=doc_id.encode(), custom_metadata=True)
    assert isinstance(out, bytes)
    return MonitoringDocument(doc_id, html, out)


def sign_report(store: Store, identity_dir: Path, signatory: Signatory, doc: MonitoringDocument,
                tsa: str | None = None) -> tuple[bytes, SignatureRecord]:
    """Sign the report's PDF as its author (PAdES, 21 CFR 11.50), like the other evidence documents."""
    return sign_pdf(store, identity_dir, signatory, doc.pdf, "authored", f"monitoring:{doc.document_id}", tsa=tsa,
                    where="monitoring report")
