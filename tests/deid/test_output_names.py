"""Output names and the manifest hold no PHI: mirrored names lose the parts that hold some (issue 19)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qms.deid.header_text import FileHints
from qms.deid.keying import DeidKey
from qms.deid.manifest import LEGACY_MANIFEST
from qms.deid.names import holds_phi, mirrored
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.text import Hints
from qms.deid.verify import FILE_NAME, verify
from tests.deid.phi_dicom import PATIENT, phi_ct
from tests.deid.manifests import manifest_of, write_legacy

KEY = DeidKey(b"output-names-test-key-of-32-byte")
PHI_WORDS = ("BRANNIGAN", "ODESSA", PATIENT.patient_id)
NAMED = [f"Brannigan_Odessa/Brannigan_Odessa_{PATIENT.patient_id}_{k}.dcm" for k in (0, 2, 3)]
PLAIN = "train/site-c/0288_1.dcm"
BROKEN = f"Brannigan_Odessa_{PATIENT.patient_id}_9.dcm"
HINTS = FileHints.of(PATIENT.patient_id, {0x00100010: [PATIENT.name], 0x00100020: [PATIENT.patient_id]})


def _tree(root: Path, names: list[str]) -> Path:
    """Synthetic CTs of one patient under `names`; the second also names the patient in a cleaned comment."""
    for k, rel in enumerate(names):
        ds = phi_ct(burned=False, instance=k + 1)
        if k == 1:
            ds.ImageComments = f"Brannigan Odessa {PATIENT.patient_id} positioned supine"  # Table E.1-1: C
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(root / rel, enforce_file_format=True)
    return root


def _holds_phi_word(text: str) -> list[str]:
    return [w for w in PHI_WORDS if w in text.upper()]


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    root = _tree(tmp_path / "in", [*NAMED, PLAIN])
    (root / BROKEN).write_bytes(b"synthetic text, not DICOM\n" * 8)
    return root


def test_mirrored_names_lose_every_part_holding_phi_and_keep_the_others(source: Path, tmp_path: Path) -> None:
    """Under "mirror" each folder and file name holding the patient's name or id becomes a keyed pseudonym
    (extension and depth kept); a name without PHI, as the demo's, stays exactly as it was."""
    out = tmp_path / "out"
    report = run_batch(source, out, KEY, DeidOptions())
    assert report.processed == 4 and len(report.quarantined) == 1
    outputs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.dcm"))
    assert PLAIN in outputs and len(outputs) == 4
    assert [o for o in outputs if _holds_phi_word(o)] == []
    renamed = [o for o in outputs if o != PLAIN]
    assert len({o.split("/")[0] for o in renamed}) == 1  # one folder in, one folder out
    assert all(o.count("/") == 1 and o.endswith(".dcm") for o in renamed)


def test_the_manifest_names_no_source(source: Path, tmp_path: Path) -> None:
    """OUT's manifest and journal record output names and keyed source digests, never a source name, not even a
    quarantined file's; the quarantine folder beside OUT keeps the source name."""
    out = tmp_path / "out"
    report = run_batch(source, out, KEY, DeidOptions())
    text = "\n".join(p.read_text(encoding="utf-8") for p in out.iterdir() if p.suffix in (".json", ".jsonl"))
    assert _holds_phi_word(text) == [] and "Brannigan" not in text
    manifest = manifest_of(out)
    assert all(len(e["source"]) == 32 for e in manifest["files"] + manifest["quarantined"])
    assert "quarantine" not in manifest["quarantined"][0]
    assert (report.quarantine_dir / BROKEN).is_file()


def test_a_study_split_across_batches_mirrors_into_the_same_folder(tmp_path: Path) -> None:
    """The same key maps the same name part the same way in every batch, into one OUT or another."""
    first = _tree(tmp_path / "a", NAMED[:1])
    second = _tree(tmp_path / "b", NAMED[1:])
    run_batch(first, tmp_path / "out", KEY, DeidOptions())
    run_batch(second, tmp_path / "out", KEY, DeidOptions())
    run_batch(second, tmp_path / "again", KEY, DeidOptions())
    folders = {p.parent.name for p in (tmp_path / "out").rglob("*.dcm")}
    assert len(folders) == 1 and folders == {p.parent.name for p in (tmp_path / "again").rglob("*.dcm")}
    rerun = run_batch(second, tmp_path / "out", KEY, DeidOptions())
    assert rerun.skipped == 2 and rerun.processed == 0


@pytest.mark.parametrize(("name", "phi"), [
    ("0288_1.dcm", False), ("site-c", False), ("train", False), ("Brannigan_Odessa_2.dcm", True),
    ("odessa.dcm", True), ("scan_TQ-558-1204.dcm", True), ("BRANNIGANODESSA", True), ("2023-03-14_ct.dcm", True),
])
def test_a_name_part_holds_phi_by_the_detector_or_the_files_own_values(name: str, phi: bool) -> None:
    """A name part holds PHI when the detector finds some or it holds the file's id (punctuation aside) or a
    name word of the patient; demo-style parts hold none."""
    assert holds_phi(name, HINTS) is phi
    assert (mirrored(f"x/{name}", KEY, HINTS) == f"x/{name}") is not phi


def test_an_extension_holding_phi_goes_with_its_name() -> None:
    """Only a clean extension is kept after a pseudonym."""
    assert not mirrored("Brannigan.Odessa", KEY, HINTS).endswith(".Odessa")
    assert holds_phi("Brannigan", FileHints(Hints(), ("BRANNIGAN",)))


def test_verify_flags_every_name_holding_phi_and_the_manifest(source: Path, tmp_path: Path) -> None:
    """verify reports the file name of every unchanged copy holding the patient's name, the one whose cleaned
    comment repeats the name too, and a manifest that names a source; nothing in qms's own output."""
    out = tmp_path / "out"
    run_batch(source, out, KEY, DeidOptions())
    assert [f.text() for f in verify(out, source).leaks] == []
    copy = tmp_path / "copy"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns(BROKEN))
    flagged = {f.item for f in verify(copy, source).leaks if f.where == FILE_NAME}
    assert flagged == set(NAMED)
    manifest = manifest_of(out)
    manifest["quarantined"][0]["quarantine"] = BROKEN  # as older versions wrote it
    write_legacy(out, manifest)  # the schema-1 form of those versions
    (finding,) = verify(out, source).leaks
    assert finding.item == LEGACY_MANIFEST and finding.where == "quarantined[0].quarantine"
    assert _holds_phi_word(finding.text()) == []
