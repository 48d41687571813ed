"""Building a dataset manifest from a de-identified folder and a labels table.

The labels table is CSV keyed by `file` (the path relative to the dataset folder) with a
`split` column, label columns holding 0/1 (blank: missing) and any other columns, which
become subgroup attributes (e.g. `site`). A column `<label>@<reader>` (e.g.
`pneumothorax@R1`) holds one reader's read (0/1, blank: not read) behind the reference
label, with a pseudonymous reader id; inter-reader agreement is computed from them. An
optional `exclusion` column holds the reason a case was assessed but excluded (blank:
included); excluded rows go into the manifest's exclusions (file, patient pseudonym,
reason), not its entries, and need neither labels nor a readable file. Patient and study
ids and the DICOM subgroup attributes are read from the de-identified headers, so the
manifest holds only what de-identification let through.

Pixel spacing (PixelSpacing (0028,0030) and ImagerPixelSpacing (0018,1164)) is recorded
as its row spacing in mm, a number, so that it can be binned and its range stated; the
column spacing of an anisotropic pair is not kept.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.multival import MultiValue

from qms.compute.engine import Engine
from qms.compute.local import LocalEngine
from qms.compute.storage import Storage
from qms.errors import QmsError
from qms.hashing import sha256_hex
from qms.validation.manifest import AttributeValue, DatasetManifest, Exclusion, ManifestEntry, posix_path

__all__ = ["DICOM_ATTRIBUTES", "EXCLUSION", "EntryShape", "HeaderFacts", "HeaderRead", "LabelRow", "READER_SEP", "Refused",
           "age_in_years", "binary_columns", "check_split", "chosen_labels", "create_manifest", "excluded", "label_columns_of",
           "label_rows", "label_value", "reader_columns", "row_spacing"]

DICOM_ATTRIBUTES: tuple[str, ...] = ("PatientSex", "PatientAge", "Manufacturer", "ManufacturerModelName",
                                     "ViewPosition", "Modality", "PixelSpacing", "ImagerPixelSpacing")
"""Subgroup attributes read from each header (DICOM keywords); PatientAge becomes years, spacings mm (row)."""
_SPACINGS = {"PixelSpacing": "(0028,0030)", "ImagerPixelSpacing": "(0018,1164)"}

EXCLUSION = "exclusion"
"""The labels-table column holding the reason a case was excluded (blank: included)."""
_RESERVED = frozenset({"file", "split", EXCLUSION})
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


def row_spacing(value: object, keyword: str, where: str) -> float | None:
    """A pixel spacing's first value (between rows, mm); absent is unknown, a non-positive or non-number refused."""
    if value is None or value == "":
        return None
    first: Any = value[0] if isinstance(value, (list, tuple, MultiValue)) else value
    try:
        mm = float(first)
    except (TypeError, ValueError):
        mm = float("nan")
    if not mm > 0:
        raise QmsError(f"{keyword} {value!r} is not a positive spacing in mm", where=f"{where} {_SPACINGS[keyword]}")
    return round(mm, 6)


@dataclass(frozen=True)
class LabelRow:
    """One row of the labels table: its line, file, split, other cells and exclusion reason (blank: included)."""

    line: int
    file: str
    split: str
    values: dict[str, str]
    exclusion: str = ""


@contextmanager
def _labels_reader(path: Path) -> Iterator[csv.DictReader[str]]:
    """The labels table as CSV rows; a missing 'file' column, an unreadable or non-UTF-8 file named."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if "file" not in (reader.fieldnames or []):
                raise QmsError("the labels table has no 'file' column", where=f"{path}:1",
                               hint="columns: file, split, one 0/1 column per label, attribute columns")
            yield reader
    except OSError as exc:
        raise QmsError(f"cannot read the labels table: {exc.strerror}", where=str(path)) from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise QmsError(f"the labels table is not UTF-8 CSV: {exc}", where=str(path)) from exc


def label_columns_of(path: Path) -> list[str]:
    """The labels table's columns other than file, split and exclusion."""
    with _labels_reader(path) as reader:
        return [c for c in reader.fieldnames or [] if c not in _RESERVED]


def label_rows(path: Path) -> Iterator[LabelRow]:
    """The labels table's rows, one at a time (a table of millions of rows is never held)."""
    with _labels_reader(path) as reader:
        for r in reader:
            yield LabelRow(reader.line_num, (r["file"] or "").strip(), (r.get("split") or "").strip(),
                           {k: (v or "").strip() for k, v in r.items() if k not in _RESERVED and k is not None},
                           (r.get(EXCLUSION) or "").strip())


def _read_labels(path: Path) -> tuple[list[LabelRow], list[str]]:
    return list(label_rows(path)), label_columns_of(path)


def binary_columns(rows: Iterable[LabelRow], columns: list[str]) -> list[str]:
    """The columns (reader columns aside) whose values are all 0, 1 or blank, in one pass over the rows."""
    binary = {c: READER_SEP not in c for c in columns}
    for r in rows:
        for c in columns:
            if binary[c] and r.values[c] not in ("0", "1", ""):
                binary[c] = False
    return [c for c in columns if binary[c]]


def chosen_labels(explicit: Sequence[str] | None, columns: list[str], binary: list[str], path: Path) -> list[str]:
    """The explicit label columns, else the `binary` ones (every column whose values are all 0, 1 or blank)."""
    if explicit:
        for name in explicit:
            if name not in columns:
                raise QmsError(f"label column {name!r} is not in the labels table", where=f"{path}:1",
                               hint=f"columns: {', '.join(columns)}")
        return list(explicit)
    if not binary:
        raise QmsError("the labels table has no label column (values 0, 1 or blank)", where=f"{path}:1")
    return binary


def check_split(labels_csv: Path, split: str | None, in_split: int, included: int) -> None:
    """Refuse a split with no row, or whose every row is excluded."""
    if split is not None and not in_split:
        splits = sorted({row.split for row in label_rows(labels_csv)})  # read again only to say what there is
        alike = [s for s in splits if s.casefold() == split.casefold()]
        raise QmsError(f"no row of the labels table has split {split!r}", where=str(labels_csv),
                       hint=f"did you mean {alike[0]!r}? " * bool(alike)
                       + f"splits in the table: {', '.join(map(repr, splits)) or 'none'}")
    if not included:
        raise QmsError(f"every row of the labels table{f' with split {split!r}' if split else ''} is excluded",
                       where=str(labels_csv), hint=f"a blank '{EXCLUSION}' cell includes the case")


def reader_columns(columns: list[str], labels: list[str], path: Path) -> dict[str, tuple[str, str]]:
    """Column -> (label, reader) for every `<label>@<reader>` column of a chosen label; the reader columns of a
    column not chosen as a label are left out, one naming no column at all (or no reader) is refused."""
    out = {}
    for c in columns:
        if READER_SEP in c:
            label, _, reader = c.partition(READER_SEP)
            if reader and label not in labels and label in columns:
                continue  # another label's reads: not this dataset's labels, nor an attribute
            if label not in labels or not reader:
                raise QmsError(f"reader column {c!r} does not name a label column and a reader", where=f"{path}:1",
                               hint=f"<label>{READER_SEP}<reader id>, labels: {', '.join(labels)}")
            out[c] = (label, reader)
    return out


def label_value(value: str, name: str, where: str) -> int | None:
    if value == "":
        return None
    if value not in ("0", "1"):
        raise QmsError(f"label {name!r} is {value!r}; expected 0, 1 or blank (missing)", where=where)
    return int(value)


def _header(data: bytes, where: str) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError) as exc:
        raise QmsError(f"not a readable DICOM file: {exc}", where=where) from exc


def excluded(root: Storage, row: LabelRow, where: str) -> Exclusion:
    """An excluded row: its reason and, when its file is there and readable, the header's patient pseudonym."""
    if not row.file:
        raise QmsError("empty 'file' cell", where=where)
    checked = Exclusion(file=posix_path(row.file), reason=row.exclusion)  # a path inside the dataset, or refused
    try:
        header = pydicom.dcmread(io.BytesIO(root.read_bytes(checked.file)), stop_before_pixels=True)
        patient = str(header.get("PatientID", "") or "").strip()
    except (InvalidDicomError, OSError, ValueError):
        patient = ""  # excluded, e.g. quarantined by de-identification: the reason stands without the header
    return replace(checked, patient_id=patient or None)


@dataclass(frozen=True)
class Refused:
    """A file a worker could not take: the error the driver raises, naming the labels-table row."""

    file: str
    message: str
    where: str | None
    hint: str | None = None


@dataclass(frozen=True)
class HeaderFacts:
    """What a worker reads from one file: its hash, pseudonymous ids and DICOM subgroup attributes."""

    file: str
    sha256: str
    patient_id: str
    study_uid: str
    attributes: tuple[tuple[str, AttributeValue], ...]


@dataclass(frozen=True)
class HeaderRead:
    """The per-file work an engine runs (`qms.compute`): hash the file and read its de-identified header,
    from one read of its bytes (a local folder or a storage URL)."""

    root: Storage

    def __call__(self, file: str) -> HeaderFacts | Refused:
        where = self.root.where(file)
        try:
            data = self.root.read_bytes(file)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return Refused(file, f"the labels table lists {file!r}, which is not in {self.root.url}", None,
                           "was it quarantined by de-identification? remove the row or restore the file")
        except OSError as exc:
            return Refused(file, f"cannot read the file: {exc}", where)
        try:
            ds = _header(data, where)
            attrs: list[tuple[str, AttributeValue]] = []
            for keyword in DICOM_ATTRIBUTES:
                if keyword in _SPACINGS:
                    attrs.append((keyword, row_spacing(ds.get(keyword), keyword, where)))
                    continue
                raw = str(ds.get(keyword, "") or "").strip()
                attrs.append((keyword, age_in_years(raw, where) if keyword == "PatientAge" else (raw or None)))
        except QmsError as exc:
            return Refused(file, exc.message, exc.where, exc.hint)
        return HeaderFacts(file, sha256_hex(data), str(ds.get("PatientID", "") or "").strip(),
                           str(ds.get("StudyInstanceUID", "") or "").strip(), tuple(attrs))


@dataclass(frozen=True)
class EntryShape:
    """How a labels-table row and its file's header facts become a manifest entry."""

    labels: tuple[str, ...]
    extra: tuple[str, ...]
    """Attribute columns of the labels table."""
    readers: dict[str, tuple[str, str]]
    """`<label>@<reader>` column -> (label, reader)."""

    def entry(self, row: LabelRow, fact: HeaderFacts | Refused, where: str) -> ManifestEntry:
        """The entry; a file the worker refused raises its error, naming the row at `where`."""
        if isinstance(fact, Refused):
            raise QmsError(fact.message, where=fact.where or where, hint=fact.hint)
        attrs: dict[str, AttributeValue] = dict(fact.attributes)
        for column in self.extra:
            attrs[column] = row.values[column] or None
        reads: dict[str, dict[str, int | None]] = {}
        for column, (label, reader) in self.readers.items():
            reads.setdefault(label, {})[reader] = label_value(row.values[column], column, where)
        return ManifestEntry(file=posix_path(row.file), sha256=fact.sha256, patient_id=fact.patient_id,
                             study_uid=fact.study_uid, labels={n: label_value(row.values[n], n, where) for n in self.labels},
                             attributes=attrs, readers=reads)


def create_manifest(
    deid_dir: Path, labels_csv: Path, *, split: str | None, name: str, label_columns: Sequence[str] | None = None,
    description: str = "", engine: Engine | None = None,
) -> DatasetManifest:
    """Hash every listed file of `split`, read its de-identified header, attach labels and attributes.

    `engine` (`qms.compute`, default this process) hashes and reads the headers; this process builds the manifest.
    """
    rows, columns = _read_labels(labels_csv)
    if split is not None:
        rows = [r for r in rows if r.split == split]
    root = Storage(str(deid_dir))
    exclusions = [excluded(root, r, f"{labels_csv}:{r.line}") for r in rows if r.exclusion]
    in_split, rows = len(rows), [r for r in rows if not r.exclusion]
    check_split(labels_csv, split, in_split, len(rows))
    labels = chosen_labels(label_columns, columns, [] if label_columns else binary_columns(rows, columns), labels_csv)
    reader_cols = reader_columns(columns, labels, labels_csv)
    extra = [c for c in columns if c not in labels and READER_SEP not in c]
    attributes = sorted(set(DICOM_ATTRIBUTES) | set(extra))
    missing = next((r for r in rows if not r.file), None)
    if missing is not None:
        raise QmsError("empty 'file' cell", where=f"{labels_csv}:{missing.line}")
    read = HeaderRead(root)
    facts = {f.file: f for f in (engine or LocalEngine()).map(read, sorted({r.file for r in rows}))}
    shape = EntryShape(tuple(labels), tuple(extra), reader_cols)
    entries = [shape.entry(row, facts[row.file], f"{labels_csv}:{row.line}") for row in rows]
    return DatasetManifest(name=name, split=split or "all", label_names=tuple(labels),
                           attribute_names=tuple(attributes), entries=tuple(entries), description=description,
                           exclusions=tuple(exclusions))
