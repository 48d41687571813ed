"""The monitoring report renders the statistic, the breached triggers and every window, as HTML and PDF."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader

from qms.documents.render import DocumentHeader
from qms.monitor.report import render_report, sign_report
from qms.monitor.service import run_monitoring
from qms.store import Store
from tests.monitor.traffic import LABELS, reference, send


def test_report_names_statistic_findings_and_windows(sqlite_url: str) -> None:
    """A pass with an output shift renders HTML naming PSI, its threshold and the breached label, and a PDF."""
    from qms.store import open_store

    store: Store = open_store(sqlite_url)
    send(store, 200, seed=70, shift=0.6)
    report = run_monitoring(store, reference(), None, window=timedelta(days=1))
    doc = render_report(report, DocumentHeader("Synthetic Triage", "Example Ltd", "1.0.0"), "d" * 40)
    assert "population stability index (PSI)" in doc.html and "threshold 0.25" in doc.html
    assert f"score:{LABELS[0]}" in doc.html and "monitor.output_drift" in doc.html
    names = PdfFileReader(io.BytesIO(doc.pdf)).root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert doc.pdf.startswith(b"%PDF-") and "monitoring.json" in [str(names[i]) for i in range(0, len(names), 2)]


def test_signed_report_verifies_as_authored(tmp_path: Path) -> None:
    """The monitoring report's PDF signed by a person verifies offline with the meaning 'authored'."""
    from qms.signing.pdf.verify import verify_pdf
    from qms.signing.signatory import Signatory
    from qms.store import open_store
    from tests.signing.orgkit import make_org, passphrase

    store = open_store(f"sqlite:///{tmp_path / 'qms.db'}")
    org = make_org(store, tmp_path / "home")
    send(store, 60, seed=71)
    doc = render_report(run_monitoring(store, reference(), None, window=timedelta(days=1)),
                        DocumentHeader("Synthetic Triage", "Example Ltd", "1.0.0"), "d" * 40)
    signed, record = sign_report(store, org.home, Signatory("bob", passphrase("bob")), doc)
    report = verify_pdf(signed, org.trust())
    assert report.ok and record.object_ref == f"monitoring:{doc.document_id}"
