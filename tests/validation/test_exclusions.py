"""Dataset creation: excluded cases with their reasons, pixel spacing, and manifests that keep their hash."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path

import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.errors import CheckFailed, QmsError
from qms.hashing import digest_of
from qms.validation.dataset import create_manifest
from qms.validation.manifest import SCHEMA, DatasetManifest, Exclusion, ManifestEntry
from tests.validation.synthetic import DatasetMaker


def add_exclusions(labels: Path, reasons: Mapping[int, str]) -> None:
    """Give the labels table an `exclusion` column: data row i (0-based) gets reasons[i], the rest blank."""
    with labels.open(newline="") as f:
        rows = list(csv.DictReader(f))
    with labels.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[*rows[0], "exclusion"])
        w.writeheader()
        w.writerows({**r, "exclusion": reasons.get(i, "")} for i, r in enumerate(rows))


def set_header(path: Path, **values: object) -> None:
    """Rewrite header elements of a synthetic file (view, pixel spacing) before its manifest is made."""
    ds = pydicom.dcmread(path)
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


def test_excluded_rows_are_recorded_with_patient_and_reason(dataset_maker: DatasetMaker) -> None:
    """Rows with an exclusion reason leave the entries and are listed with their file, patient pseudonym and reason."""
    deid, labels = dataset_maker(6)
    add_exclusions(labels, {1: "lateral view only", 4: "lateral view only"})
    text = labels.read_text().splitlines()
    text[2] = text[2].replace(",test,1,", ",test,?,").replace(",test,0,", ",test,?,")  # an excluded row needs no label
    labels.write_text("\n".join(text) + "\n")
    m = create_manifest(deid, labels, split="test", name="t")
    assert len(m.entries) == 4 and "exclusion" not in m.attribute_names
    assert [(x.file, x.patient_id, x.reason) for x in m.exclusions] == [
        ("P00001/0.dcm", "P00001", "lateral view only"), ("P00004/0.dcm", "P00004", "lateral view only")]
    assert not {x.file for x in m.exclusions} & {e.file for e in m.entries}


def test_an_excluded_file_that_is_missing_keeps_its_reason(dataset_maker: DatasetMaker) -> None:
    """An excluded file that de-identification quarantined is still recorded, with no patient pseudonym."""
    deid, labels = dataset_maker(3)
    (deid / "P00002/0.dcm").unlink()
    add_exclusions(labels, {2: "quarantined by de-identification"})
    m = create_manifest(deid, labels, split="test", name="t")
    assert m.exclusions == (Exclusion("P00002/0.dcm", "quarantined by de-identification", None),)


def test_manifest_without_exclusions_keeps_the_schema_1_hash(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """A blank exclusion column changes nothing: the manifest hashes exactly as schema 1 did without the key."""
    deid, labels = dataset_maker(4)
    before = create_manifest(deid, labels, split="test", name="t")
    add_exclusions(labels, {})
    after = create_manifest(deid, labels, split="test", name="t")
    body = {"schema": SCHEMA, "name": "t", "split": "test", "description": "", "labels": list(after.label_names),
            "attributes": list(after.attribute_names), "entries": [e.to_json() for e in after.entries]}
    assert after.sha256 == before.sha256 == digest_of(body) and "exclusions" not in after.to_json()


def test_manifest_with_exclusions_round_trips_and_refuses_an_edit(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """Exclusions are sealed by the manifest hash: they round-trip, and an edited reason is refused."""
    deid, labels = dataset_maker(4)
    add_exclusions(labels, {0: "support devices"})
    m = create_manifest(deid, labels, split="test", name="t")
    path = tmp_path / "m.json"
    path.write_text(m.dumps())
    assert DatasetManifest.from_file(path) == m
    data = json.loads(path.read_text())
    data["exclusions"][0]["reason"] = "something else"
    path.write_text(json.dumps(data))
    with pytest.raises(CheckFailed, match="does not match its stored hash"):
        DatasetManifest.from_file(path)


def test_malformed_exclusion_in_a_manifest_names_it(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """A manifest exclusion without a reason, or listing an included file, is refused naming where."""
    deid, labels = dataset_maker(3)
    data = create_manifest(deid, labels, split="test", name="t").to_json()
    path = tmp_path / "m.json"
    path.write_text(json.dumps({**data, "exclusions": [{"file": "x/0.dcm", "patient_id": None}]}))
    with pytest.raises(QmsError, match="lacks 'reason'") as info:
        DatasetManifest.from_file(path)
    assert info.value.where == f"{path}: exclusions[0]"
    path.write_text(json.dumps({**data, "exclusions": [{"file": data["entries"][0]["file"], "reason": "r"}]}))
    with pytest.raises(QmsError, match="listed twice"):
        DatasetManifest.from_file(path)


def test_every_row_excluded_is_refused(dataset_maker: DatasetMaker) -> None:
    """A split whose every row is excluded has no case to analyse and is refused."""
    deid, labels = dataset_maker(2)
    add_exclusions(labels, {0: "r", 1: "r"})
    with pytest.raises(QmsError, match="is excluded"):
        create_manifest(deid, labels, split="test", name="t")


def test_pixel_spacing_is_the_row_spacing_in_mm(dataset_maker: DatasetMaker) -> None:
    """PixelSpacing and ImagerPixelSpacing become their row spacing in mm; absent is unknown."""
    deid, labels = dataset_maker(2)
    set_header(deid / "P00000/0.dcm", PixelSpacing=[0.15, 0.2], ImagerPixelSpacing=[0.165, 0.22])
    m = create_manifest(deid, labels, split="test", name="t")
    first, second = m.entries
    assert (first.attributes["PixelSpacing"], first.attributes["ImagerPixelSpacing"]) == (0.15, 0.165)
    assert second.attributes["PixelSpacing"] is None


def test_bad_pixel_spacing_names_the_file_and_tag(dataset_maker: DatasetMaker) -> None:
    """A non-positive pixel spacing is refused naming the file and (0028,0030)."""
    deid, labels = dataset_maker(1)
    set_header(deid / "P00000/0.dcm", PixelSpacing=[0, 0])
    with pytest.raises(QmsError, match="not a positive spacing") as info:
        create_manifest(deid, labels, split="test", name="t")
    assert info.value.where == f"{deid / 'P00000/0.dcm'} (0028,0030)"


def test_excluded_row_without_a_file_names_the_line(dataset_maker: DatasetMaker) -> None:
    """An excluded row whose file cell is empty is refused at its line of the labels table."""
    deid, labels = dataset_maker(3)
    add_exclusions(labels, {1: "lateral view only"})
    text = labels.read_text().splitlines()
    text[2] = text[2].replace("P00001/0.dcm", "")
    labels.write_text("\n".join(text) + "\n")
    with pytest.raises(QmsError, match="empty 'file' cell") as info:
        create_manifest(deid, labels, split="test", name="t")
    assert info.value.where == f"{labels}:3"


_reason = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20).filter(
    lambda t: bool(t.strip()))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_reason, st.one_of(st.none(), st.text(min_size=1, max_size=8))), max_size=6))
def test_any_exclusions_round_trip_and_none_keep_the_old_hash(excluded: list[tuple[str, str | None]]) -> None:
    """Any exclusions survive JSON and back with the manifest's hash; without any, the hash is the schema-1 one."""
    entries = (ManifestEntry(file="in/0.dcm", sha256="0" * 64, patient_id="p", study_uid="1.2", labels={"x": 1}),)
    xs = tuple(Exclusion(f"out/{i}.dcm", reason, patient) for i, (reason, patient) in enumerate(excluded))
    m = DatasetManifest(name="h", split="test", label_names=("x",), attribute_names=(), entries=entries, exclusions=xs)
    again = DatasetManifest.from_json(json.loads(m.dumps()), "mem")
    assert again == m and again.sha256 == m.sha256
    if not xs:
        assert m.sha256 == digest_of({"schema": SCHEMA, "name": "h", "split": "test", "description": "", "labels": ["x"],
                                      "attributes": [], "entries": [entries[0].to_json()]})
