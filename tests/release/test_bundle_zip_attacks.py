"""Zip tricks on a genuine signed bundle: each is refused by `bundle verify` with a finding naming the member."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from qms.release import assembly, bundle
from qms.signing.manifest import Provenance, sign_manifest
from tests.release.conftest import PASS, SIGNERS, Built
from tests.release.zipcraft import Entry, entry, members_of, with_entries, write, zeros_deflated

VERDICT = "data/gate-verdict.json"
FORGED = b'{"passed": true}\n'


@pytest.fixture(scope="module")
def genuine(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The conftest's bundle signed again with a (failing) gate verdict among its data."""
    tmp = tmp_path_factory.mktemp("verdict")
    files = {**built.files, VERDICT: b'{"passed": false}\n'}
    for name, data in files.items():
        (tmp / "staged" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "staged" / name).write_bytes(data)
    doc, _ = sign_manifest(built.store, built.home, SIGNERS["approver"][0], PASS, tmp / "staged", sorted(files),
                           Provenance("d" * 40), "approved", "release:1.0.0:manifest")
    assembly.write_bundle(tmp / "bundle.zip", files, doc)
    return tmp / "bundle.zip"


def _verify(path: Path, built: Built) -> bundle.BundleReport:
    report = bundle.verify_bundle(path, built.anchors)
    assert not report.ok
    return report


def _where(report: bundle.BundleReport, check: str) -> set[str | None]:
    return {f.where for f in report.findings if f.check == check}


def _altered(genuine: Path, dst: Path, name: str, **lies: Any) -> Path:
    """The genuine bundle written again with member `name`'s headers changed as `lies` says."""
    return write(dst, [replace(e, **lies) if e.name == name else e for e in members_of(genuine)])


def test_raw_copy_of_the_genuine_bundle_verifies(genuine: Path, built: Built, tmp_path: Path) -> None:
    """The genuine members written again by the tests' raw zip writer verify, so each attack below fails for its trick alone."""
    assert bundle.verify_bundle(genuine, built.anchors).ok
    assert bundle.verify_bundle(write(tmp_path / "copy.zip", members_of(genuine)), built.anchors).ok


def test_dot_slash_twin_ahead_of_the_real_member_is_refused(genuine: Path, built: Built, tmp_path: Path) -> None:
    """A member ./data/gate-verdict.json placed ahead of the signed data/gate-verdict.json is refused by name."""
    path = with_entries(genuine, tmp_path / "a.zip", first=[entry("./" + VERDICT, FORGED)])
    assert "./" + VERDICT in _where(_verify(path, built), "bundle.names")


@pytest.mark.parametrize("twin", ["data/Gate-Verdict.json", "data/gate-verdict.\uff4a\uff53\uff4f\uff4e"],
                         ids=["case", "unicode-fullwidth"])
def test_case_and_unicode_twins_are_refused(genuine: Path, built: Built, tmp_path: Path, twin: str) -> None:
    """A member whose name folds (case, NFKC) to a signed member's name is refused as that member's twin."""
    report = _verify(with_entries(genuine, tmp_path / "a.zip", first=[entry(twin, FORGED)]), built)
    twins = [f for f in report.findings if f.check == "bundle.names" and f.where == VERDICT]
    assert twins and twin in twins[0].reason


def test_forged_zip_prepended_to_the_genuine_one_is_refused(genuine: Path, built: Built, tmp_path: Path) -> None:
    """A forged zip concatenated ahead of the genuine bundle (which most readers still open) is refused."""
    forged = io.BytesIO()
    with zipfile.ZipFile(forged, "w") as z:
        z.writestr(VERDICT, FORGED)
    path = tmp_path / "a.zip"
    path.write_bytes(forged.getvalue() + genuine.read_bytes())
    report = _verify(path, built)
    assert "a.zip@0" in _where(report, "bundle.layout") and "prepended" in report.findings[0].reason


def test_junk_after_the_end_record_is_refused(genuine: Path, built: Built, tmp_path: Path) -> None:
    """Bytes appended after the end-of-central-directory record are refused."""
    path = tmp_path / "a.zip"
    path.write_bytes(genuine.read_bytes() + FORGED * 10)
    report = _verify(path, built)
    assert report.findings[0].check == "bundle.layout" and "follow the end record" in report.findings[0].reason


def test_zip_bomb_is_refused_without_inflating_it(genuine: Path, built: Built, tmp_path: Path) -> None:
    """A member of 1 GiB of zeros deflated to ~1 MB is refused by its compression ratio while memory stays low."""
    chunks, crc = zeros_deflated(1 << 30)
    path = with_entries(genuine, tmp_path / "a.zip", last=[Entry("data/bomb.bin", chunks, 1 << 30, crc)])
    tracemalloc.start()
    try:
        report = _verify(path, built)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "data/bomb.bin" in _where(report, "bundle.member") and peak < 64 << 20


@pytest.mark.parametrize(("member", "clashing"), [(VERDICT + "/x.json", VERDICT), ("data", "data/anomalies.json")],
                         ids=["file-then-folder", "folder-then-file"])
def test_file_and_folder_of_the_same_name_are_refused(genuine: Path, built: Built, tmp_path: Path, member: str,
                                                      clashing: str) -> None:
    """A name that is a file in one member and a folder in another is a finding, not a traceback."""
    report = _verify(with_entries(genuine, tmp_path / "a.zip", last=[entry(member, FORGED)]), built)
    assert _where(report, "bundle.names") & {member, clashing}


@pytest.mark.parametrize("lie", [{"local_size": len(b'{"passed": false}\n') + 1}, {"local_name": "data/gate-verdict.jsom"}],
                         ids=["size", "name"])
def test_local_header_disagreeing_with_the_directory_is_refused(genuine: Path, built: Built, tmp_path: Path,
                                                                 lie: dict[str, object]) -> None:
    """A member whose local header says another size or name than the central directory is refused."""
    report = _verify(_altered(genuine, tmp_path / "a.zip", VERDICT, **lie), built)
    assert VERDICT in _where(report, "bundle.layout")


def test_encrypted_member_is_refused(genuine: Path, built: Built, tmp_path: Path) -> None:
    """A member flagged as encrypted is a finding, not a request for a password or a traceback."""
    report = _verify(_altered(genuine, tmp_path / "a.zip", VERDICT, flags=0x1), built)
    assert VERDICT in _where(report, "bundle.member")
