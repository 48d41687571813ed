"""The tool validation report: the selftest result as HTML, then PDF/A-3b with the result attached as JSON.

Rendered with the evidence documents' look and pinned fonts (qms.documents.render); signed
by the person who ran the selftest (qms.signing), so the record is theirs (21 CFR 11.50).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from qms.documents.render import FONT_DIR, DocumentHeader, Renderer
from qms.selftest.suite import SUITE, SelftestResult
from qms.signing import SignatureRecord, Signatory
from qms.signing.pdf import sign_pdf
from qms.store import Store

__all__ = ["ATTACHMENT", "TEMPLATE", "object_ref", "render_report", "sign_report"]

TEMPLATE = "tool-validation.html.j2"
ATTACHMENT = "selftest.json"
_TITLE = "Tool Validation Report (IQ/OQ)"


def object_ref(result: SelftestResult) -> str:
    """What the signature is of: this qmskit version in this environment."""
    return f"tool-validation:qmskit@{result.environment.qmskit}:{result.environment.fingerprint[:16]}"


def render_html(result: SelftestResult, organisation: str, run_by: str, backend: str) -> str:
    env = result.environment
    renderer = Renderer(DocumentHeader(device="qmskit", manufacturer=organisation, release=env.qmskit))
    checks = [r.to_json() for r in result.results]
    counts = {"total": len(checks), "passed": sum(c["passed"] for c in checks),
              "warnings": sum(1 for c in checks for f in c["findings"] if f["severity"] != "error")}
    doc = {"kind": "tool-validation", "title": _TITLE, "id": f"TOOL-VALIDATION-{env.fingerprint[:12]}",
           "attachments": [ATTACHMENT]}
    return renderer.env.get_template(TEMPLATE).render(
        doc=doc, header=renderer.header, fonts=renderer.fonts, release={"commit": "not applicable: an installed tool, identified by its environment fingerprint"},
        env=env, checks=checks, counts=counts, passed=result.passed, run_by=run_by, backend=backend,
        partial=len(checks) < len(SUITE),
        started_at=result.started_at, finished_at=result.finished_at)


def render_report(result: SelftestResult, organisation: str, run_by: str, backend: str) -> bytes:
    """The report as PDF/A-3b, the result's JSON attached (21 CFR 11.10(b): one record, two readings)."""
    import weasyprint

    html = render_html(result, organisation, run_by, backend)
    data = json.dumps(result.to_json(), indent=2, sort_keys=True).encode()
    when = datetime.now(UTC)
    attachment = weasyprint.Attachment(file_obj=io.BytesIO(data), name=ATTACHMENT, description="qms selftest --json",
                                       relationship="Data", created=when, modified=when)
    pdf = weasyprint.HTML(string=html, base_url=str(FONT_DIR)).write_pdf(
        pdf_variant="pdf/a-3b", attachments=[attachment], pdf_identifier=result.environment.fingerprint[:32].encode(),
        custom_metadata=True)
    assert isinstance(pdf, bytes)
    return pdf


def sign_report(store: Store, identity_dir: Path, signatory: Signatory, pdf: bytes, result: SelftestResult,
                tsa: str | None = None) -> tuple[bytes, SignatureRecord]:
    """Sign the report as its author (who ran the selftest); the signature record names this environment."""
    return sign_pdf(store, identity_dir, signatory, pdf, "authored", object_ref(result), tsa=tsa, where="tool validation report")
