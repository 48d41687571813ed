"""Building a dataset manifest from a de-identified folder and a labels table.

The labels table is CSV keyed by `file` (the path relative to the dataset folder) with a
`split` column, label columns holding 0/1 (blank: missing) and any other columns, which
become subgroup attributes (e.g. `site`). A column `<label>@<reader>` (e.g.
`pneumothorax@R1`) holds one reader's read (0/1, blank: not read) behind the reference
label, with a pseudonymous reader id; inter-reader agreement is computed from them. Patient and study ids and the DICOM subgroup
attributes are read from the de-identified headers, so the manifest holds only what
de-identification let through.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from qms.errors import QmsError
from qms.hashing import sha256_file
from qms.validation.manifest import AttributeValue, DatasetManifest, ManifestEntry

DICOM_ATTRIBUTES: tuple[str, ...] = ("PatientSex", "PatientAge", "Manufacturer", "ManufacturerModelName",
                                     "ViewPosition", "Modality")
"""Subgroup attributes read from each header (DICOM keywords); PatientAge becomes years."""

_RESERVED = frozenset({"file", "split"})
READER_SEP = "@"
"""`<label>@<reader>`: a per-reader label column."""
_AGE = re.compile(r"^(\d{3})([DWMY])$")
_AGE_DIVISOR = {"D": 365.25, "W": 52.1775, "M": 12.0, "Y": 1.0}


def age_in_years(value: str, where: str) -> float | None:
    """DICOM AS (PS3.5 §6.2, e.g. '045Y', '006M') in years; blank is unknown."""
    if not value:
        return None
    m = _AGE.match(value.strip())
    if m is None:
        raise QmsError(f"PatientAge {value!r} is not a DICOM age string (nnnD/W/M/Y)", where=f"{where} (0010,1010)")
    return round(int(m.group(1)) / _AGE_DIVISOR[m.group(2)], 4)


@dataclass(frozen=True)
class _Row:
    line: int
    file: str
    split: str
    values: dict[str, str]


def _read_labels(path: Path) -> tuple[list[_Row], list[str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = list(reader.fieldnames or [])
            if "file" not in columns:
                raise QmsError("the labels table has no 'file' column", where=f"{path}:1",
                               hint="columns: file, split, one 0/1 column per label, attribute columns")
            rows = [_Row(reader.line_num, (r["file"] or "").strip(), (r.get("split") or "").strip(),
                         {k: (v or "").strip() for k, v in r.items() if k not in _RESERVED and k is not None})
                    for r in reader]
    except OSError as exc:
        raise QmsError(f"cannot read the labels table: {exc.strerror}", where=str(path)) from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise QmsError(f"the labels table is not UTF-8 CSV: {exc}", where=str(path)) from exc
    return rows, [c for c in columns if c not in _RESERVED]


def _label_columns(rows: list[_Row], columns: list[str], explicit: Sequence[str] | None, path: Path) -> list[str]:
    """The explicit label columns, else every column whose values are all 0, 1 or blank."""
    if explicit:
        for name in explicit:
            if name not in columns:
                raise QmsError(f"label column {name!r} is not in the labels table", where=f"{path}:1",
                               hint=f"columns: {', '.join(columns)}")
        return list(explicit)
    return [c for c in columns if READER_SEP not in c and all(r.values[c] in ("0", "1", "") for r in rows)]


def _reader_columns(columns: list[str], labels: list[str], path: Path) -> dict[str, tuple[str, str]]:
    """Column -> (label, reader) for every `<label>@<reader>` column; one naming no label is refused."""
    out = {}
    for c in columns:
        if READER_SEP in c:
            label, _, reader = c.partition(READER_SEP)
            if label not in labels or not reader:
                raise QmsError(f"reader column {c!r} does not name a label column and a reader", where=f"{path}:1",
                               hint=f"<label>{READER_SEP}<reader id>, labels: {', '.join(labels)}")
            out[c] = (label, reader)
    return out


def _label(value: str, name: str, where: str) -> int | None:
    if value == "":
        return None
    if value not in ("0", "1"):
        raise QmsError(f"label {name!r} is {value!r}; expected 0, 1 or blank (missing)", where=where)
    return int(value)


def _header(path: Path, where: str) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError) as exc:
        raise QmsError(f"not a readable DICOM file: {exc}", where=where) from exc


def create_manifest(
    deid_dir: Path, labels_csv: Path, *, split: str | None, name: str, label_columns: Sequence[str] | None = None,
    description: str = "",
) -> DatasetManifest:
    """Hash every listed file of `split`, read its de-identified header, attach labels and attributes."""
    rows, columns = _read_labels(labels_csv)
    if split is not None:
        rows = [r for r in rows if r.split == split]
        if not rows:
            raise QmsError(f"no row of the labels table has split {split!r}", where=str(labels_csv))
    labels = _label_columns(rows, columns, label_columns, labels_csv)
    if not labels:
        raise QmsError("the labels table has no label column (values 0, 1 or blank)", where=f"{labels_csv}:1")
    reader_cols = _reader_columns(columns, labels, labels_csv)
    extra = [c for c in columns if c not in labels and c not in reader_cols]
    attributes = sorted(set(DICOM_ATTRIBUTES) | set(extra))
    entries = []
    for row in rows:
        where = f"{labels_csv}:{row.line}"
        if not row.file:
            raise QmsError("empty 'file' cell", where=where)
        path = deid_dir / row.file
        if not path.is_file():
            raise QmsError(f"the labels table lists {row.file!r}, which is not in {deid_dir}", where=where,
                           hint="was it quarantined by de-identification? remove the row or restore the file")
        ds = _header(path, str(path))
        attrs: dict[str, AttributeValue] = {}
        for keyword in DICOM_ATTRIBUTES:
            raw = str(ds.get(keyword, "") or "").strip()
            attrs[keyword] = age_in_years(raw, str(path)) if keyword == "PatientAge" else (raw or None)
        for column in extra:
            attrs[column] = row.values[column] or None
        reads: dict[str, dict[str, int | None]] = {}
        for column, (label, reader) in reader_cols.items():
            reads.setdefault(label, {})[reader] = _label(row.values[column], column, where)
        entries.append(ManifestEntry(
            file=Path(row.file).as_posix(), sha256=sha256_file(path),
            patient_id=str(ds.get("PatientID", "") or "").strip(),
            study_uid=str(ds.get("StudyInstanceUID", "") or "").strip(),
            labels={n: _label(row.values[n], n, where) for n in labels}, attributes=attrs, readers=reads,
        ))
    return DatasetManifest(name=name, split=split or "all", label_names=tuple(labels),
                           attribute_names=tuple(attributes), entries=tuple(entries), description=description)
