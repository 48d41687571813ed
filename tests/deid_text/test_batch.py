"""Batches of report files: every format, bad input quarantined whole, input untouched, no PHI in records."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

from qms import audit
from qms.deid.keying import DateShiftRange, DeidKey
from qms.deid.text import BatchOptions, Fields, deidentify_reports, record
from qms.deid.text.batch import MANIFEST
from qms.errors import QmsError
from qms.hashing import sha256_file
from qms.store import open_store

REPORT = ("Discussed with Dr. Margaret Hamilton on 03/04/2021 at (555) 123-4567.\n"
          "Known Hodgkin lymphoma. Electronically signed by: Alan Turing, MD")
PHI = ["Margaret", "Hamilton", "03/04/2021", "(555) 123-4567", "Alan Turing", "PT-7", "PT-8"]


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def _sr(path: Path, patient: str) -> None:
    """A minimal Basic Text SR (PS3.3 A.35.1) with a TEXT, a PNAME and a DATE content item."""
    def item(kind: str, meaning: str, **values: str) -> Dataset:
        ds = Dataset()
        ds.RelationshipType, ds.ValueType = "CONTAINS", kind
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "121071", "DCM", meaning
        ds.ConceptNameCodeSequence = [code]
        for name, value in values.items():
            setattr(ds, name, value)
        return ds
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.88.11")
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientID, ds.PatientName, ds.ValueType = "SR", patient, "Test^Patient", "CONTAINER"
    ds.ContentSequence = [item("TEXT", "Finding", TextValue=REPORT),
                          item("PNAME", "Observer", PersonName="Hamilton^Margaret"),
                          item("DATE", "Study date", Date="20210304")]
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    src = tmp_path / "raw"
    (src / "txt").mkdir(parents=True)
    (src / "txt" / "a.txt").write_text("PatientID: PT-7\n" + REPORT)
    (src / "txt" / "b.txt").write_text(REPORT)
    (src / "batch.jsonl").write_text(json.dumps({"patient_id": "PT-7", "report": REPORT, "site": "x"}) + "\n"
                                     + json.dumps({"patient_id": "PT-8", "report": REPORT}) + "\n")
    with (src / "table.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["patient_id", "report"])
        writer.writerow(["PT-7", REPORT])
    _sr(src / "sr.dcm", "PT-7")
    (tmp_path / "map.csv").write_text("file,patient_id\ntxt/b.txt,PT-8\n")
    return src


def test_every_format_is_deidentified(inputs: Path, tmp_path: Path, key: DeidKey) -> None:
    """Text (header line or patient map), JSONL, CSV and SR text are all rewritten; no PHI reaches OUT."""
    report = deidentify_reports(inputs, tmp_path / "out", key, BatchOptions(patient_map=tmp_path / "map.csv"))
    assert not report.quarantined
    totals = report.manifest["totals"]
    assert (totals["files"], totals["reports"]) == (5, 6)
    for path in (tmp_path / "out").rglob("*"):
        text = path.read_text()
        assert not [v for v in PHI if v in text], path.name
        assert "Hodgkin lymphoma" in text or path.name == MANIFEST


def test_the_same_patient_reads_the_same_in_every_format(inputs: Path, tmp_path: Path, key: DeidKey) -> None:
    """PT-7's report becomes the same text in a .txt, a JSONL record, a CSV row and an SR TEXT item."""
    deidentify_reports(inputs, tmp_path / "out", key, BatchOptions(patient_map=tmp_path / "map.csv", keep_names=True))
    out = tmp_path / "out"
    txt = (out / "txt" / "a.txt").read_text().split("\n", 1)[1]
    jsonl = [json.loads(line) for line in (out / "batch.jsonl").read_text().splitlines()]
    row = next(csv.DictReader(io.StringIO((out / "table.csv").read_text())))
    sr = json.loads((out / "sr.json").read_text())
    assert txt == jsonl[0]["report"] == row["report"] == sr["items"][0]["value"]
    assert jsonl[1]["report"] != txt  # another patient, other surrogates
    assert jsonl[0]["patient_id"] == row["patient_id"] == sr["patient"] == key.pseudonym("patient", "PT-7")
    assert "site" not in jsonl[0]  # other fields are dropped unless kept: they may hold PHI
    assert sr["items"][2]["value"] != "20210304" and len(sr["items"][2]["value"]) == 8


def test_sr_date_moves_with_the_dicom_offset(inputs: Path, tmp_path: Path, key: DeidKey) -> None:
    """An SR DATE item moves by the offset the DICOM pipeline gives the SR's PatientID."""
    from datetime import date, timedelta
    shift = DateShiftRange(-100, -5)
    deidentify_reports(inputs / "sr.dcm", tmp_path / "out", key, BatchOptions(keep_names=True, shift=shift))
    value = json.loads((tmp_path / "out" / "sr.json").read_text())["items"][2]["value"]
    expected = date(2021, 3, 4) + timedelta(days=key.date_offset_days("PT-7", shift))
    assert value == expected.strftime("%Y%m%d")


def test_bad_input_is_quarantined_whole(tmp_path: Path, key: DeidKey) -> None:
    """Non-UTF-8, empty, 50 MB, column-less and patient-less files give no output, each a copy and a reason."""
    src = tmp_path / "raw"
    src.mkdir()
    (src / "latin1.txt").write_bytes("PatientID: 1\nDr. Müller".encode("latin-1"))
    (src / "empty.txt").write_bytes(b"")
    with (src / "huge.txt").open("wb") as f:
        f.truncate(50 * 2**20)
    (src / "nocolumn.csv").write_text("id,text\n1,Dr. Smith\n")
    (src / "badline.jsonl").write_text(json.dumps({"patient_id": "1", "report": "ok"}) + "\n{not json\n")
    (src / "nopatient.txt").write_text("Dr. Smith called.")
    report = deidentify_reports(src, tmp_path / "out", key)
    reasons = {q.input.name: q.reason for q in report.quarantined}
    assert set(reasons) == {"latin1.txt", "empty.txt", "huge.txt", "nocolumn.csv", "badline.jsonl", "nopatient.txt"}
    assert "line 2: byte" in reasons["latin1.txt"] and "not UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.txt"]
    assert "52428800 bytes" in reasons["huge.txt"]
    assert "no column 'report'" in reasons["nocolumn.csv"]
    assert reasons["badline.jsonl"].startswith("line 2: not JSON")
    assert "no patient id" in reasons["nopatient.txt"]
    outputs = [p for p in (tmp_path / "out").iterdir() if p.name != MANIFEST]  # quarantine is beside OUT
    assert outputs == []  # nothing half-written: not even the good first line of badline.jsonl
    for q in report.quarantined:
        assert sha256_file(q.copy) == sha256_file(q.input) and q.copy.with_name(q.copy.name + ".reason.txt").is_file()


def test_input_is_never_modified(inputs: Path, tmp_path: Path, key: DeidKey) -> None:
    """Every input file has the same bytes after a batch as before it."""
    before = _tree(inputs)
    deidentify_reports(inputs, tmp_path / "out", key, BatchOptions(patient_map=tmp_path / "map.csv"))
    assert _tree(inputs) == before


def test_rerun_gives_identical_output(inputs: Path, tmp_path: Path, key: DeidKey) -> None:
    """Two runs with the same key write byte-identical outputs and manifests (keyed, deterministic)."""
    options = BatchOptions(patient_map=tmp_path / "map.csv")
    deidentify_reports(inputs, tmp_path / "one", key, options)
    deidentify_reports(inputs, tmp_path / "two", key, options)
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")


def test_output_inside_input_is_refused(inputs: Path, key: DeidKey) -> None:
    """OUT inside IN would mix outputs into the input: refused before anything is written."""
    with pytest.raises(QmsError, match="overlap"):
        deidentify_reports(inputs, inputs / "out", key)
    assert not (inputs / "out").exists()


def test_manifest_and_audit_event_hold_no_phi(inputs: Path, tmp_path: Path, key: DeidKey) -> None:
    """The manifest and the batch's audit event name digests, pseudonyms and counts, never a value or input name."""
    report = deidentify_reports(inputs, tmp_path / "out", key, BatchOptions(patient_map=tmp_path / "map.csv"))
    store = open_store(f"sqlite:///{tmp_path / 'qms.db'}")
    record(store, "test.engineer", report)
    events = audit.log(store, action="deid.reports")
    store.dispose()
    assert len(events) == 1 and events[0].after_digest == report.digest
    for text in ((tmp_path / "out" / MANIFEST).read_text(), events[0].details, events[0].object):
        assert not [v for v in PHI + ["a.txt", "batch", "table", "sr.dcm"] if v in text]
    assert report.manifest["totals"]["identifiers"]["NAME"] >= 6


def test_patient_id_in_text_becomes_the_dicom_pseudonym(tmp_path: Path, key: DeidKey) -> None:
    """A report's own PatientID line carries the pseudonym the DICOM pipeline gives that patient."""
    src = tmp_path / "raw"
    src.mkdir()
    (src / "r.txt").write_text("PatientID: MRN12345678\nFindings discussed with Dr. Grant.")
    deidentify_reports(src, tmp_path / "out", key, BatchOptions(keep_names=True))
    first = (tmp_path / "out" / "r.txt").read_text().splitlines()[0]
    assert first == f"PatientID: {key.pseudonym('patient', 'MRN12345678')}"


def test_inputs_of_no_report_format_are_listed_not_dropped(tmp_path: Path, key: DeidKey) -> None:
    """`.text` and suffix-less text files are de-identified; a `.bin` file is skipped, listed, and the batch is incomplete."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.text").write_text("PatientID: PT-7\n" + REPORT)
    (src / "b").write_text("PatientID: PT-8\n" + REPORT)
    (src / "c.bin").write_bytes(b"\x00\x01binary")
    report = deidentify_reports(src, tmp_path / "out", key)
    assert report.manifest["totals"]["files"] == 2 and report.manifest["totals"]["skipped"] == 1
    assert report.skipped == [src / "c.bin"] and not report.complete
    assert report.to_json()["skipped_inputs"] == [str(src / "c.bin")]
    outputs = "".join(p.read_text() for p in (tmp_path / "out").glob("*.txt"))
    assert not any(value in outputs for value in PHI) and "Hodgkin lymphoma" in outputs
    assert "c.bin" not in (tmp_path / "out" / MANIFEST).read_text()  # input names stay out of the manifest
