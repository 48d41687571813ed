"""Dataset manifests: content, canonical hash, round trip, and refusal of tampering."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.errors import CheckFailed, QmsError
from qms.validation.dataset import age_in_years, create_manifest
from qms.validation.manifest import DatasetManifest, ManifestEntry

from tests.validation.synthetic import DatasetMaker


def test_manifest_reads_ids_labels_and_attributes(dataset_maker: DatasetMaker) -> None:
    """A manifest lists every file of the split with its sha256, header ids, labels and subgroup attributes."""
    deid, labels = dataset_maker(6, images_per_patient=2, splits=("train", "test"))
    m = create_manifest(deid, labels, split="test", name="cxr-test")
    assert len(m.entries) == 6 and m.split == "test"
    assert m.label_names == ("pneumothorax", "effusion")
    assert {"PatientSex", "PatientAge", "Manufacturer", "site"} <= set(m.attribute_names)
    e = m.entries[0]
    assert e.patient_id.startswith("P") and e.study_uid and len(e.sha256) == 64
    assert isinstance(e.attributes["PatientAge"], float) and e.attributes["site"].startswith("site-")
    assert len(m.patient_ids) == 3


def test_manifest_round_trips_with_the_same_hash(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """Writing and reading a manifest gives an equal object with the same canonical hash."""
    deid, labels = dataset_maker(4)
    m = create_manifest(deid, labels, split="test", name="cxr-test")
    path = tmp_path / "m.json"
    path.write_text(m.dumps())
    again = DatasetManifest.from_file(path)
    assert again == m and again.sha256 == m.sha256
    assert json.loads(path.read_text())["sha256"] == m.sha256


def test_edited_manifest_is_refused(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """A manifest edited after creation (a label flipped) no longer matches its hash and is refused."""
    deid, labels = dataset_maker(4)
    data = create_manifest(deid, labels, split="test", name="cxr-test").to_json()
    data["entries"][0]["labels"]["pneumothorax"] = 1 - data["entries"][0]["labels"]["pneumothorax"]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CheckFailed, match="does not match its stored hash"):
        DatasetManifest.from_file(path)


def test_changed_file_is_named(dataset_maker: DatasetMaker) -> None:
    """verify_files names the file whose bytes changed after the manifest was made."""
    deid, labels = dataset_maker(3)
    m = create_manifest(deid, labels, split="test", name="t")
    m.verify_files(deid)
    target = deid / m.entries[1].file
    target.write_bytes(target.read_bytes() + b"\0")
    with pytest.raises(CheckFailed) as info:
        m.verify_files(deid)
    assert info.value.where == str(target)


def test_missing_file_in_labels_names_the_line(dataset_maker: DatasetMaker) -> None:
    """A labels row whose file is absent from the de-identified folder is an error naming the CSV line."""
    deid, labels = dataset_maker(3)
    with labels.open("a", newline="") as f:
        csv.writer(f).writerow(["nope/0.dcm", "test", "1", "0", "site-0"])
    with pytest.raises(QmsError) as info:
        create_manifest(deid, labels, split="test", name="t")
    assert info.value.where == f"{labels}:5"


def test_bad_label_value_is_refused(dataset_maker: DatasetMaker) -> None:
    """A label cell that is not 0, 1 or blank is refused with its line when the column is named a label."""
    deid, labels = dataset_maker(2)
    text = labels.read_text().splitlines()
    text[1] = text[1].replace(",test,1,", ",test,2,").replace(",test,0,", ",test,2,")
    labels.write_text("\n".join(text) + "\n")
    with pytest.raises(QmsError, match="expected 0, 1 or blank") as info:
        create_manifest(deid, labels, split="test", name="t", label_columns=["pneumothorax", "effusion"])
    assert info.value.where == f"{labels}:2"


def test_entry_rejects_escaping_paths() -> None:
    """An entry whose path leaves the dataset folder cannot exist."""
    with pytest.raises(QmsError, match="must be relative"):
        ManifestEntry(file="../x.dcm", sha256="0" * 64, patient_id="p", study_uid="s")


@pytest.mark.parametrize(("value", "years"), [("045Y", 45.0), ("006M", 0.5), ("", None)])
def test_age_strings_become_years(value: str, years: float | None) -> None:
    """DICOM age strings are converted to years for age-band subgroups."""
    assert age_in_years(value, "f") == years


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(_text, st.sampled_from([0, 1, None]), st.one_of(st.none(), _text, st.floats(0, 120))),
                min_size=1, max_size=8, unique_by=lambda t: t[0]))
def test_any_manifest_round_trips_through_json_with_its_hash(rows: list[tuple[str, int | None, str | float | None]]) -> None:
    """Any valid manifest survives JSON and back with an identical canonical hash."""
    entries = tuple(ManifestEntry(file=f"d/{i}.dcm", sha256=f"{i:064x}", patient_id=pid, study_uid=f"1.2.{i}",
                                  labels={"x": label}, attributes={"a": attr})
                    for i, (pid, label, attr) in enumerate(rows))
    m = DatasetManifest(name="h", split="test", label_names=("x",), attribute_names=("a",), entries=entries)
    again = DatasetManifest.from_json(json.loads(m.dumps()), "mem")
    assert again == m and again.sha256 == m.sha256
