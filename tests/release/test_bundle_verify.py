"""`qms bundle verify` offline: a good bundle verifies; each kind of tampering is detected and named."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qms.release import assembly, bundle
from qms.signing import init_ca




def _rewrite(src: Path, dst: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    with zipfile.ZipFile(src) as z:
        files = {n: z.read(n) for n in z.namelist()}
    change(files)
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    return dst


def _checks(report: bundle.BundleReport) -> set[tuple[str, str]]:
    return {(f.check, f.item) for f in report.findings}


def test_good_bundle_verifies(built: Any) -> None:
    """A bundle as written verifies: every hash, the manifest signature, three PDF roles, the checkpoint."""
    report = bundle.verify_bundle(built.path, built.anchors)
    assert report.ok, report.findings
    assert report.files == len(built.files)
    assert {s["field"] for s in report.signatures if s["file"].endswith(".pdf")} == {"author", "reviewer", "approver"}


def test_changed_byte_is_detected(built: Any, tmp_path: Path) -> None:
    """One changed byte in a data file fails its hash, naming the file."""
    def flip(files: dict[str, bytes]) -> None:
        data = bytearray(files["data/anomalies.json"])
        data[5] ^= 1
        files["data/anomalies.json"] = bytes(data)

    report = bundle.verify_bundle(_rewrite(built.path, tmp_path / "b.zip", flip), built.anchors)
    assert ("bundle.hash", "data/anomalies.json") in _checks(report) and not report.ok


def test_extra_file_is_rejected(built: Any, tmp_path: Path) -> None:
    """A file the signed manifest does not list is rejected."""
    report = bundle.verify_bundle(_rewrite(built.path, tmp_path / "b.zip", lambda f: f.update({"notes.txt": b"hi"})),
                                  built.anchors)
    assert ("bundle.files", "notes.txt") in _checks(report)


def test_missing_file_is_detected(built: Any, tmp_path: Path) -> None:
    """A file listed in the manifest but absent from the zip is named."""
    report = bundle.verify_bundle(_rewrite(built.path, tmp_path / "b.zip", lambda f: f.pop("documents/anomaly-list.html")),
                                  built.anchors)
    assert ("bundle.files", "documents/anomaly-list.html") in _checks(report)


def test_altered_manifest_copy_is_detected(built: Any, tmp_path: Path) -> None:
    """A manifest.json that is not byte for byte the signed one fails, even if it still parses (one space added)."""
    def alter(files: dict[str, bytes]) -> None:
        files[bundle.MANIFEST] = files[bundle.MANIFEST].replace(b",", b", ", 1)

    report = bundle.verify_bundle(_rewrite(built.path, tmp_path / "b.zip", alter), built.anchors)
    assert _checks(report) == {("bundle.manifest", bundle.MANIFEST)}


def test_altered_release_roles_break_the_signature(built: Any, tmp_path: Path) -> None:
    """Adding a signer to release.json's roles changes a signed file: its hash fails."""
    def alter(files: dict[str, bytes]) -> None:
        files[bundle.RELEASE] = files[bundle.RELEASE].replace(b'"ada.approver"', b'"ada.approver", "mallory"')

    report = bundle.verify_bundle(_rewrite(built.path, tmp_path / "b.zip", alter), built.anchors)
    assert ("bundle.hash", bundle.RELEASE) in _checks(report)


def test_truncated_pdf_misses_a_role(built: Any, tmp_path: Path) -> None:
    """A PDF cut back to its author revision (later signatures removed) fails: reviewer and approver are missing."""
    def truncate(files: dict[str, bytes]) -> None:
        pdf = files["documents/anomaly-list.pdf"]
        ends = [i for i in range(len(pdf)) if pdf.startswith(b"%%EOF", i)]
        files["documents/anomaly-list.pdf"] = pdf[: ends[-3] + 6]

    report = bundle.verify_bundle(_rewrite(built.path, tmp_path / "b.zip", truncate), built.anchors)
    pdf_findings = [f for f in report.findings if f.item == "documents/anomaly-list.pdf"]
    assert pdf_findings and any("reviewer" in f.reason or "approver" in f.reason for f in pdf_findings)


def test_other_ca_is_not_trusted(built: Any, tmp_path: Path) -> None:
    """Against another organisation's CA, the manifest signature is not trusted."""
    other = init_ca(tmp_path / "other", "Other Org", "other passphrase")
    report = bundle.verify_bundle(built.path, (other,))
    assert ("bundle.manifest", bundle.ENVELOPE) in _checks(report)


def test_no_configured_ca_fails_closed(built: Any) -> None:
    """Without a configured CA nothing is trusted: the verification fails rather than trusting the bundle's own CA."""
    report = bundle.verify_bundle(built.path, ())
    assert not report.ok and report.findings[0].check == "bundle.trust"


def test_not_a_zip(tmp_path: Path, built: Any) -> None:
    """A file that is not a zip is a finding, not a crash."""
    path = tmp_path / "x.zip"
    path.write_bytes(b"not a zip")
    assert not bundle.verify_bundle(path, built.anchors).ok


def test_bundle_is_reproducible(built: Any, tmp_path: Path) -> None:
    """Writing the same files and signature again gives the same bytes (fixed entry times and order)."""
    assembly.write_bundle(tmp_path / "a.zip", built.files, built.envelope)
    assembly.write_bundle(tmp_path / "b.zip", built.files, built.envelope)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes() == built.path.read_bytes()
    assert bundle.verify_bundle(tmp_path / "a.zip", built.anchors).ok


def test_documents_checked_side_by_side_as_in_one_process(built: Any, tmp_path: Path) -> None:
    """`qms bundle verify` checks the documents in forked processes: its report is the one a single process writes,
    signatures in the documents' order and an unreadable PDF named, not a crash."""
    def add(files: dict[str, bytes]) -> None:
        files["documents/architecture.pdf"] = files["documents/anomaly-list.pdf"]
        files["documents/broken.pdf"] = b"%PDF-1.7 not really"

    path = _rewrite(built.path, tmp_path / "b.zip", add)
    alone, side = (bundle.verify_bundle(path, built.anchors, workers=n) for n in (1, 2))
    assert side.to_json() == alone.to_json()
    assert [s["file"] for s in side.signatures if s["file"].endswith(".pdf")] == \
        ["documents/anomaly-list.pdf"] * 3 + ["documents/architecture.pdf"] * 3
    assert ("bundle.pdf", "documents/broken.pdf") in {(f.check, f.item) for f in side.findings}
