"""The monitoring report renders the statistic, the breached triggers and every window, as HTML and PDF."""

from __future__ import annotations

import io
from datetime import timedelta

from pyhanko.pdf_utils.reader import PdfFileReader

from qms.documents.render import DocumentHeader
from qms.monitor.report import render_report
from qms.monitor.service import run_monitoring
from qms.store import Store
from tests.monitor.traffic import LABELS, reference, send


def test_report_names_statistic_findings_and_windows(sqlite_url: str) -> None:
    """A pass with an output shift renders HTML naming PSI, its threshold and the breached label, and a PDF."""
    from qms.store import open_store

    store: Store = open_store(sqlite_url)
    send(store, 200, seed=70, shift=0.6)
    report = run_monitoring(store, reference(), timedelta(days=1))
    doc = render_report(report, DocumentHeader("Synthetic Triage", "Example Ltd", "1.0.0"), "d" * 40)
    assert "population stability index (PSI)" in doc.html and "threshold 0.25" in doc.html
    assert f"score:{LABELS[0]}" in doc.html and "monitor.output_drift" in doc.html
    names = PdfFileReader(io.BytesIO(doc.pdf)).root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert doc.pdf.startswith(b"%PDF-") and "monitoring.json" in [str(n) for n in names[::2]]
