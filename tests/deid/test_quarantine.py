"""Quarantine lies outside OUT with a README saying it holds PHI; one exit-code rule for both batch commands."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from qms.deid.keying import DeidKey
from qms.deid.manifest import MANIFEST
from qms.deid.names import source_digest
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.quarantine import README, check_quarantine, default_quarantine, shared_reason
from qms.deid.text import BatchOptions, deidentify_reports
from qms.deid.verify import verify
from qms.errors import QmsError
from tests.deid.manifests import manifest_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage" / "qms.toml"


def _with_bad_files(tree: Path, root: Path) -> Path:
    src = root / "with-bad"
    shutil.copytree(tree, src)
    good = next(src.rglob("*.dcm")).read_bytes()
    (src / "truncated.dcm").write_bytes(good[: len(good) // 2])
    (src / "sub").mkdir()
    (src / "sub" / "not-dicom.dcm").write_bytes(b"synthetic text, not DICOM\n" * 8)
    return src


def test_quarantine_defaults_to_a_folder_beside_out_with_a_phi_readme(tmp_path: Path, tree: Path,
                                                                        key: DeidKey) -> None:
    """Bad inputs go to OUT.quarantine beside OUT (README saying PHI, reason files); OUT holds outputs and manifest only."""
    src = _with_bad_files(tree, tmp_path)
    out = tmp_path / "out"
    report = run_batch(src, out, key, DeidOptions())
    folder = tmp_path / "out.quarantine"
    assert report.quarantine_dir == folder == default_quarantine(out)
    assert {q.quarantine for q in report.quarantined} == {"truncated.dcm", "sub/not-dicom.dcm"}
    assert "PROTECTED HEALTH INFORMATION" in (folder / README).read_text()
    for rel in ("truncated.dcm", "sub/not-dicom.dcm"):
        assert (folder / rel).read_bytes() == (src / rel).read_bytes()
        assert (folder / f"{rel}.reason.txt").read_text().strip()
    in_out = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert in_out == {MANIFEST} | {p.relative_to(tree).as_posix() for p in tree.rglob("*.dcm")}


def test_quoted_values_are_blanked_in_the_shared_reason() -> None:
    """A quoted str or bytes value (as pydicom's BytesLengthException quotes a value) is blanked; other text is kept."""
    message = ("(0010,0010): Expected total bytes to be an even multiple of bytes per value. Instead received "
               "b'Quellmark^Alda' with length 14 and struct format 'L'; it's the \"US\" VR")
    assert shared_reason(message) == ("(0010,0010): Expected total bytes to be an even multiple of bytes per value. "
                                      "Instead received <value> with length 14 and struct format <value>; it's the "
                                      "<value> VR")


def test_the_manifest_records_the_shared_reason_and_the_quarantine_the_full_one(tmp_path: Path, tree: Path,
                                                                               key: DeidKey) -> None:
    """OUT's manifest holds each quarantine reason with quoted values blanked; the reason file beside the copy, in full."""
    src = _with_bad_files(tree, tmp_path)
    out = tmp_path / "out"
    report = run_batch(src, out, key, DeidOptions())
    full = (report.quarantine_dir / "sub" / "not-dicom.dcm.reason.txt").read_text().strip()
    [recorded] = [q["reason"] for q in manifest_of(out)["quarantined"]
                  if q["source"] == source_digest(key, "sub/not-dicom.dcm")]
    assert "'DICM'" in full and recorded == shared_reason(full) != full


def test_no_quarantine_folder_when_nothing_is_quarantined(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """A batch where every file is de-identified creates no quarantine folder at all."""
    report = run_batch(tree, tmp_path / "out", key, DeidOptions())
    assert report.quarantined == () and not report.quarantine_dir.exists()


def test_a_user_named_quarantine_folder_is_used(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """`quarantine=` names the folder; nothing of the quarantine appears in OUT or in the default place."""
    src = _with_bad_files(tree, tmp_path)
    out, named = tmp_path / "out", tmp_path / "held" / "phi"
    report = run_batch(src, out, key, DeidOptions(), quarantine=named)
    assert (named / "truncated.dcm").is_file() and (named / README).is_file()
    assert not default_quarantine(out).exists()
    assert not list(out.rglob("truncated.dcm")) and report.quarantine_dir == named


@pytest.mark.parametrize("where", ["out/quarantine", "out", "in/q", "."])
def test_a_quarantine_inside_out_or_in_is_refused(tmp_path: Path, where: str) -> None:
    """A quarantine folder inside OUT, equal to it, containing it, or inside IN is a usage error."""
    (tmp_path / "in").mkdir()
    with pytest.raises(QmsError, match="quarantine folder"):
        check_quarantine(tmp_path / where, tmp_path / "out", tmp_path / "in")


def test_verify_never_reads_the_quarantine_as_output(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """verify checks only OUT's de-identified files: the quarantined inputs are neither checked nor unpaired."""
    src = _with_bad_files(tree, tmp_path)
    out = tmp_path / "out"
    run_batch(src, out, key, DeidOptions())
    report = verify(out, src)
    assert report.files_checked == 12 and report.unpaired == () and report.clean


def test_report_quarantine_is_beside_out_too(tmp_path: Path, key: DeidKey) -> None:
    """`deid reports` copies a bad report into OUT.quarantine with the PHI README; OUT holds outputs and manifest only."""
    src = tmp_path / "reports"
    src.mkdir()
    (src / "ok.txt").write_text("Seen on 3/4/21. No acute findings.")
    (src / "bad.txt").write_bytes(b"\xff\xfe")
    report = deidentify_reports(src, tmp_path / "out", key, BatchOptions(patient_id="P-1"))
    [held] = report.quarantined
    assert held.copy.parent == default_quarantine(tmp_path / "out") and (held.copy.parent / README).is_file()
    assert {p.suffix for p in (tmp_path / "out").iterdir()} == {".txt", ".json"}


runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(EXAMPLE, root / "qms.toml")
    monkeypatch.chdir(root)
    DeidKey.generate(tmp_path / "deid.key")
    return root


def test_both_batch_commands_exit_1_when_a_file_is_quarantined(project: Path, tmp_path: Path, tree: Path) -> None:
    """`deid dicom` and `deid reports` both exit 1 (with --json too) when any input was quarantined and say so in
    --help; both put the quarantine where --quarantine names, and refuse one inside OUT (exit 2)."""
    src = _with_bad_files(tree, tmp_path)
    result = runner.invoke(app, ["deid", "dicom", str(src), str(tmp_path / "out"), "--key-file",
                                 str(tmp_path / "deid.key"), "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert len(report["quarantined"]) == 2 and report["quarantine_folder"] == str(tmp_path / "out.quarantine")
    result = runner.invoke(app, ["deid", "dicom", str(src), str(tmp_path / "out2"), "--key-file",
                                 str(tmp_path / "deid.key"), "--quarantine", str(tmp_path / "held")])
    assert result.exit_code == 1 and "2 quarantined" in result.output
    assert (tmp_path / "held" / "truncated.dcm").is_file()
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "ok.txt").write_text("Seen on 3/4/21. No acute findings.")
    (reports / "bad.txt").write_bytes(b"\xff\xfe")
    for json_flag in ([], ["--json"]):
        result = runner.invoke(app, ["deid", "reports", str(reports), str(tmp_path / f"rout{len(json_flag)}"),
                                     "--key-file", str(tmp_path / "deid.key"), *json_flag])
        assert result.exit_code == 1, result.output
    result = runner.invoke(app, ["deid", "reports", str(reports), str(tmp_path / "rout2"), "--key-file",
                                 str(tmp_path / "deid.key"), "--quarantine", str(tmp_path / "held-reports")])
    assert result.exit_code == 1 and (tmp_path / "held-reports" / README).is_file()
    result = runner.invoke(app, ["deid", "reports", str(reports), str(tmp_path / "rout3"), "--key-file",
                                 str(tmp_path / "deid.key"), "--quarantine", str(tmp_path / "rout3" / "q")])
    assert result.exit_code == 2 and "quarantine folder" in result.output
    for command in ("dicom", "reports"):
        text = runner.invoke(app, ["deid", command, "--help"], terminal_width=200).output
        assert "1 when any was quarantined" in " ".join(text.split())


def test_dicom_exits_0_when_nothing_is_quarantined(project: Path, tmp_path: Path, tree: Path) -> None:
    """`deid dicom` exits 0 when every input was de-identified."""
    result = runner.invoke(app, ["deid", "dicom", str(tree), str(tmp_path / "out"), "--key-file",
                                 str(tmp_path / "deid.key")])
    assert result.exit_code == 0, result.output


def test_quarantined_files_are_owner_only_whatever_the_umask(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """A quarantined input and its reason hold raw PHI: they are written mode 0600 even under a permissive umask."""
    src = _with_bad_files(tree, tmp_path)
    old = os.umask(0o002)
    try:
        run_batch(src, tmp_path / "out", key, DeidOptions())
    finally:
        os.umask(old)
    folder = tmp_path / "out.quarantine"
    for rel in ("truncated.dcm", "truncated.dcm.reason.txt"):
        assert stat.S_IMODE((folder / rel).stat().st_mode) == 0o600
