"""Benchmark: sign a 100-page PDF/A three times (author, reviewer, approver) and verify it.

Baseline, same file, same run: pyHanko's bare `signers.sign_pdf` (no declared roles, no
stamp, no record store) three times and `validate_pdf_signature` over the result.
qmskit's figures include what it adds: role checks, passphrase decryption, the visible
block with its embedded font, the signature record and audit event, role verification.

    python benchmarks/bench_signing.py [--pages 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from weasyprint import HTML

from qms.signing import Role, Trust, add_user, init_ca
from qms.signing.pdf import RoleSpec, Signatory, prepare_signature_fields, sign_pdf, verify_pdf
from qms.signing.pdf.document import asn1
from qms.signing.pdf.sign import pyhanko_signer
from qms.signing.sign import unlock
from qms.store import open_store

CA_PASS = "bench-ca-passphrase"
USERS = [("author", "Ada Author", Role.ENGINEER, "authored"), ("reviewer", "Rui Reviewer", Role.QUALITY, "reviewed"),
         ("approver", "Amara Approver", Role.REGULATORY, "approved")]


def _document(pages: int) -> bytes:
    body = "".join(f"<section style='page-break-after: always'><h2>Section {i + 1}</h2>"
                   f"<p>{'Synthetic verification evidence. ' * 60}</p></section>" for i in range(pages))
    out = io.BytesIO()
    HTML(string=f"<html><body><h1>Synthetic test report</h1>{body}</body></html>").write_pdf(out, pdf_variant="pdf/a-3b")
    return out.getvalue()


def _timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    pdf = _document(args.pages)
    pages = int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])
    print(f"document: {pages} pages, {len(pdf) / 1e6:.2f} MB (weasyprint PDF/A-3b)")
    steps = [u[0] for u in USERS] + ["verify"]
    ours: dict[str, list[float]] = {step: [] for step in steps}
    base: dict[str, list[float]] = {step: [] for step in steps}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp) / "home"
            store = open_store(f"sqlite:///{Path(tmp) / 'qms.db'}")
            init_ca(home, "Bench Org", CA_PASS)
            for uid, name, role, _m in USERS:
                add_user(store, home, uid, name, role, f"{uid}-passphrase", CA_PASS, actor="bench")
            roles = [RoleSpec.of(uid, meaning, [uid]) for uid, _n, _r, meaning in USERS]
            doc = prepare_signature_fields(store, home, pdf, roles)
            for uid, _n, _r, meaning in USERS:
                seconds, out = _timed(lambda: sign_pdf(store, home, Signatory(uid, f"{uid}-passphrase"), doc, meaning, "doc:bench"))
                ours[uid].append(seconds)
                doc = out[0]  # type: ignore[index]
            trust = Trust.from_store(store, home)
            seconds, report = _timed(lambda: verify_pdf(doc, trust))
            assert report.ok, report.to_json()  # type: ignore[attr-defined]
            ours["verify"].append(seconds)

            # Baseline: pyHanko's bare calls with the same keys, on the same unsigned file.
            bare = pdf
            for uid, _n, _r, meaning in USERS:
                signer = pyhanko_signer(unlock(store, home, uid, f"{uid}-passphrase", meaning), trust)
                meta = signers.PdfSignatureMetadata(field_name=uid, subfilter=fields.SigSeedSubFilter.PADES,
                                                    md_algorithm="sha256")

                def bare_sign() -> bytes:
                    out = io.BytesIO()
                    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(bare)), meta, signer, output=out)
                    return out.getvalue()

                seconds, signed = _timed(bare_sign)
                base[uid].append(seconds)
                bare = signed  # type: ignore[assignment]
            vc = ValidationContext(trust_roots=[asn1(a) for a in trust.anchors], allow_fetching=False)

            def bare_verify() -> None:
                for sig in PdfFileReader(io.BytesIO(bare)).embedded_signatures:
                    assert validate_pdf_signature(sig, vc).bottom_line

            seconds, _ = _timed(bare_verify)
            base["verify"].append(seconds)
            store.dispose()
    print(f"{'step':<22}{'qmskit (s)':>12}{'pyHanko bare (s)':>18}{'ratio':>8}   medians of {args.repeats}")
    for step in steps:
        a, b = statistics.median(ours[step]), statistics.median(base[step])
        label = f"sign as {step}" if step != "verify" else "verify all three"
        print(f"{label:<22}{a:>12.3f}{b:>18.3f}{a / b:>8.2f}")
    total_a = sum(statistics.median(v) for v in ours.values())
    total_b = sum(statistics.median(v) for v in base.values())
    print(f"{'total':<22}{total_a:>12.3f}{total_b:>18.3f}{total_a / total_b:>8.2f}")


if __name__ == "__main__":
    main()
