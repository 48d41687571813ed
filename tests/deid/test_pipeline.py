"""The batch: pydicom's own files, bad input quarantined, resume, manifest without PHI, audit."""

from __future__ import annotations

import json
import shutil
import struct
import warnings
from pathlib import Path

import pytest
import pydicom.data
from pydicom import dcmread
from pydicom.data import get_testdata_files

from qms.audit import log
from qms.deid.keying import DeidKey
from qms.deid.manifest import MANIFEST
from qms.deid.names import source_digest
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.quarantine import default_quarantine
from qms.deid.verify import verify
from qms.errors import QmsError
from qms.hashing import sha256_file
from qms.store import Store
from tests.deid.manifests import manifest_of, write_legacy

pytestmark = pytest.mark.verifies("QMS-REQ-004")

# Why a file that pydicom loads may still be refused (each a documented quarantine reason); pixel
# cleaning's refusals name the pixel attribute they concern.
_ACCEPTED_REFUSALS = ("(7FE0,0010)", "(0028,0301)", "no 128-byte preamble", "DICOMDIR", "truncated",
                      "unknown transfer syntax", "not a composite instance")


def _tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _loadable_pydicom_files() -> list[Path]:
    """The test files inside the installed pydicom package (none downloaded) that dcmread loads as they are."""
    shipped = Path(pydicom.data.__file__).parent
    files = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in get_testdata_files():
            path = Path(name)
            if shipped not in path.parents:
                continue
            try:
                dcmread(path)
            except Exception:  # "loads" means dcmread reads it as it is, whatever pydicom raises otherwise
                continue
            files.append(path)
    return files


@pytest.fixture(scope="module")
def pydicom_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    root = tmp_path_factory.mktemp("pydicom")
    src, out = root / "in", root / "out"
    names = []
    for i, path in enumerate(_loadable_pydicom_files()):
        rel = f"{i:03d}_{path.name}"
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, src / rel)
        names.append(rel)
    run_batch(src, out, DeidKey(b"k" * 32), DeidOptions(), workers=2)
    return src, out, names


def test_every_pydicom_test_file_is_deidentified_or_quarantined_with_a_reason(
        pydicom_batch: tuple[Path, Path, list[str]]) -> None:
    """Every test file that pydicom ships and loads is de-identified, or refused for a documented reason."""
    src, out, names = pydicom_batch
    manifest = manifest_of(out)
    by_source = {source_digest(DeidKey(b"k" * 32), rel): rel for rel in names}  # the manifest names no source
    done = {by_source[e["source"]] for e in manifest["files"]}
    refused = {by_source[e["source"]]: e["reason"] for e in manifest["quarantined"]}
    assert set(names) == done | set(refused)
    assert len(done) >= 100
    for rel, reason in refused.items():
        assert any(r in reason for r in _ACCEPTED_REFUSALS), (rel, reason)
        assert (default_quarantine(out) / f"{rel}.reason.txt").is_file()
        assert not (out / rel).exists()


def test_verify_finds_no_leak_in_the_pydicom_files(pydicom_batch: tuple[Path, Path, list[str]]) -> None:
    """`qms deid verify` finds no source identifier in any de-identified pydicom test file."""
    src, out, _ = pydicom_batch
    report = verify(out, src)
    assert report.files_checked >= 100
    assert report.leaks == ()


def test_verify_reports_each_leak_with_file_and_tag(tmp_path: Path, tree: Path) -> None:
    """An output that still holds its source's values is reported, naming the file and the tag."""
    fake = tmp_path / "fake"
    shutil.copytree(tree, fake)
    report = verify(fake, tree)
    assert not report.clean
    tags = {leak.where for leak in report.leaks}
    assert "(0010,0010)" in tags and "(0010,0020)" in tags
    assert all(str(leak.item).endswith(".dcm") for leak in report.leaks)


def _bad_inputs(root: Path, good: bytes) -> dict[str, bytes]:
    explicit_ts = good.index(b"1.2.840.10008.1.2.1")
    return {
        "truncated.dcm": good[: len(good) // 2],
        "not-dicom.dcm": b"%PDF-1.4 synthetic\n" * 20,
        "no-preamble.dcm": good[132:],
        "unknown-ts.dcm": good[:explicit_ts] + b"1.2.3.4.5.6.7.8.9.1" + good[explicit_ts + 19:],
        "huge-private.dcm": good + struct.pack("<HH2sHI", 0x0011, 0x1010, b"OB", 0, 0x7FFFFFF0) + b"\x00" * 64,
        "wrong-vr.dcm": good.replace(b"\x28\x00\x10\x00US", b"\x28\x00\x10\x00ZZ", 1),
    }


def test_bad_input_is_quarantined_and_the_batch_goes_on(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """Truncated, non-DICOM, preamble-less, unknown-syntax, oversized and wrong-VR files are quarantined
    with a reason; no partial output is written and the good files are de-identified."""
    src = tmp_path / "bad"
    shutil.copytree(tree, src)
    good = next(src.rglob("*.dcm")).read_bytes()
    bad = _bad_inputs(src, good)
    for name, data in bad.items():
        (src / name).write_bytes(data)
    out = tmp_path / "out"
    report = run_batch(src, out, key, DeidOptions())
    refused = {q.quarantine for q in report.quarantined}
    assert {"truncated.dcm", "not-dicom.dcm", "no-preamble.dcm", "unknown-ts.dcm", "huge-private.dcm"} <= refused
    assert report.processed + len(report.quarantined) == len(bad) + 12
    for name in refused:
        assert (report.quarantine_dir / name).read_bytes() == (src / name).read_bytes()
        assert (report.quarantine_dir / f"{name}.reason.txt").read_text().strip()
        assert not (out / name).exists()
    assert not list(out.rglob("*.part"))


def test_input_is_never_modified(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """Every input file has the same bytes after the batch as before it."""
    before = _tree_digest(tree)
    run_batch(tree, tmp_path / "out", key, DeidOptions(), workers=2)
    assert _tree_digest(tree) == before


def test_a_rerun_skips_what_is_done_and_redoes_what_is_missing(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """A rerun skips every intact output and redoes a deleted or damaged one, byte-identically."""
    out = tmp_path / "out"
    run_batch(tree, out, key, DeidOptions())
    outputs = sorted(p for p in out.rglob("*.dcm"))
    reference = {p: p.read_bytes() for p in outputs}
    outputs[0].unlink()
    outputs[1].write_bytes(b"damaged")
    report = run_batch(tree, out, key, DeidOptions())
    assert (report.processed, report.skipped) == (2, 10)
    assert all(p.read_bytes() == data for p, data in reference.items())


def test_an_interrupted_batch_resumes_from_its_journal(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """Files recorded in the journal of a batch that never finished are skipped by the next run."""
    out = tmp_path / "out"
    run_batch(tree, out, key, DeidOptions())
    manifest = manifest_of(out)
    lines = [json.dumps({"key_id": manifest["key_id"], "options": manifest["options"], "profile": manifest["profile"]})]
    lines += [json.dumps(e) for e in manifest["files"][:5]] + ['{"status": "done", "outp']
    (out / MANIFEST).unlink()
    (out / ".deid-journal.jsonl").write_text("\n".join(lines))
    report = run_batch(tree, out, key, DeidOptions())
    assert (report.processed, report.skipped) == (7, 5)


def test_another_key_or_options_cannot_write_into_the_same_output(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """A batch with a different key (or options) refuses an output folder made with another one."""
    out = tmp_path / "out"
    run_batch(tree, out, key, DeidOptions())
    with pytest.raises(QmsError, match="different key or different options"):
        run_batch(tree, out, DeidKey(b"x" * 32), DeidOptions())
    with pytest.raises(QmsError, match="different key or different options"):
        run_batch(tree, out, key, DeidOptions.from_config({}, ["retain_uids"]))


def test_the_manifest_holds_no_phi(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """The manifest names hashes, pseudonyms and counts, and none of the source's identifying values."""
    out = tmp_path / "out"
    run_batch(tree, out, key, DeidOptions())
    text = (out / MANIFEST).read_text().upper()  # every line: header, batches, entries, totals
    for path in tree.rglob("*.dcm"):
        ds = dcmread(path)
        for value in (ds.PatientName.family_name, ds.PatientID, ds.AccessionNumber, ds.PatientBirthDate,
                      ds.SOPInstanceUID, ds.StudyInstanceUID):
            assert str(value).upper() not in text
    manifest = manifest_of(out)
    assert manifest["key_id"] == key.key_id and len(manifest["files"]) == 12 and manifest["patients"] == 3


def test_outputs_can_be_named_by_the_new_sop_instance_uid(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """With output_names = sop-instance-uid each output is OUT/<new SOPInstanceUID>.dcm."""
    out = tmp_path / "out"
    run_batch(tree, out, key, DeidOptions.from_config({"output_names": "sop-instance-uid"}))
    names = sorted(p.name for p in out.glob("*.dcm"))
    assert len(names) == 12
    assert all(dcmread(out / n).SOPInstanceUID + ".dcm" == n for n in names)
    assert verify(out, tree).clean


def test_each_batch_appends_an_audit_event(tmp_path: Path, tree: Path, key: DeidKey, store: Store) -> None:
    """A batch appends one deid.batch event with its counts and key id, and no PHI."""
    report = run_batch(tree, tmp_path / "out", key, DeidOptions(), audit=(store, "test.engineer"))
    events = log(store, action="deid.batch")
    assert len(events) == 1 and events[0].object == f"deid-batch:{report.batch_id}"
    details = json.loads(events[0].details)
    assert details["processed"] == 12 and details["key_id"] == key.key_id
    first = dcmread(next(tree.rglob("*.dcm")))
    assert str(first.PatientID) not in events[0].details


def test_output_inside_input_is_refused(tree: Path, key: DeidKey) -> None:
    """An output folder inside the input folder is refused before anything is written."""
    with pytest.raises(QmsError, match="neither the input folder nor inside it"):
        run_batch(tree, tree / "out", key, DeidOptions())
    assert not (tree / "out").exists()


def test_verify_checks_the_masked_pixel_regions(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """A region the manifest records as masked must be blank in the output, or verify reports it."""
    out = tmp_path / "out"
    run_batch(tree, out, key, DeidOptions())
    manifest = manifest_of(out)
    entry = next(e for e in manifest["files"] if e["output"].endswith("i000001.dcm"))  # pixels all 1, not blank
    entry["pixels"] = {**(entry["pixels"] or {}), "regions": [
        {"rectangle": [0, 0, 4, 4], "source": "region-library", "rule": "synthetic test rule"}]}
    write_legacy(out, manifest)  # an edited manifest, in the schema-1 form verify still reads
    leaks = verify(out, tree).leaks
    assert [(leak.item, leak.where) for leak in leaks] == [(entry["output"], "(7FE0,0010) PixelData")]


def test_the_preamble_is_blanked_and_verify_searches_it(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """A preamble holding the patient's name is written as 128 zero bytes, and verify finds the name in an unchanged copy."""
    src = tmp_path / "with-preamble"
    shutil.copytree(tree, src)
    for path in src.rglob("*.dcm"):
        data = path.read_bytes()
        name = str(dcmread(path).PatientName).encode("ascii")
        path.write_bytes(name.ljust(128, b" ")[:128] + data[128:])
    out = tmp_path / "out"
    report = run_batch(src, out, key, DeidOptions())
    assert report.processed == 12 and not report.quarantined
    assert all(p.read_bytes()[:128] == bytes(128) for p in out.rglob("*.dcm"))
    assert verify(out, src).clean
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    assert "(preamble)" in {leak.where for leak in verify(copy, src).leaks}
