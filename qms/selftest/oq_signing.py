"""OQ: sign a PDF/A and verify it offline, then fail a changed copy (QMS-REQ-003, QMS-RC-004).

A scratch organisation CA and signer are made in the workspace (the user's CA key stays
offline); the signature is recorded in a scratch store on the user's backend, then checked
by the verifier with only the trust anchors, and again after one byte of the signed file
changed.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from qms.findings import Finding
from qms.selftest.checks import Evidence
from qms.selftest.scratch import scratch_store
from qms.signing import Role, Signatory, Trust, add_user, init_ca
from qms.signing.pdf import sign_pdf, verify_pdf

__all__ = ["check_signing"]

_SIGNER = "selftest.signer"
_PAGE = ("<html><body><h1>qmskit operational qualification</h1><p>A synthetic document signed and verified by "
         "`qms selftest`.</p></body></html>")


def _pdfa() -> bytes:
    import weasyprint

    pdf = weasyprint.HTML(string=_PAGE).write_pdf(pdf_variant="pdf/a-3b")
    assert isinstance(pdf, bytes)
    return pdf


def _changed(pdf: bytes) -> bytes:
    """The same file with one byte of the signed first revision changed (inside its binary comment line)."""
    at = pdf.index(b"\n") + 2
    return pdf[:at] + bytes([pdf[at] ^ 0x01]) + pdf[at + 1:]


def check_signing(check: str, store_url: str | None, workspace: Path) -> tuple[list[Finding], Evidence]:
    findings: list[Finding] = []
    home = workspace / "identities"
    ca_pass, user_pass = secrets.token_hex(16), secrets.token_hex(16)
    with scratch_store(store_url, workspace) as store:
        init_ca(home, "qmskit selftest scratch CA", ca_pass)
        add_user(store, home, _SIGNER, "Selftest Signer", Role.ENGINEER, user_pass, ca_pass, actor="qms.selftest")
        signed, rec = sign_pdf(store, home, Signatory(_SIGNER, user_pass), _pdfa(), "authored", "selftest:oq-signing")
        trust = Trust.from_store(store, home)
        report = verify_pdf(signed, trust)
        if not report.ok:
            findings.append(Finding(check, "signature", f"a fresh signature does not verify: {report.to_json()['reasons']}",
                                    "the signing libraries or the environment differ from the validated ones"))
        elif report.signatures[0].user_id != _SIGNER:
            findings.append(Finding(check, "signature", "the verified signature names another signer"))
        try:
            tampered_ok = verify_pdf(_changed(signed), trust).ok
        except Exception:  # noqa: BLE001 - a verifier that refuses to read a changed file has rejected it
            tampered_ok = False
        if tampered_ok:
            findings.append(Finding(check, "signature", "a signed PDF with a changed byte still verifies",
                                    "signatures are not bound to the bytes they sign: do not use this environment"))
    return findings, {"signature record": rec.id, "meaning": rec.meaning, "signed sha256": rec.sha256[:16]}
