"""Report containers: plain text, JSON lines, CSV, and the text values of DICOM Structured Reports.

Each format turns one input file's bytes into de-identified output bytes, or raises a
QmsError naming the line, row, field or DICOM tag at fault; nothing is half-converted.
The patient of each report keys its surrogates and its date offset: for a DICOM SR its
PatientID (as the DICOM pipeline keys it), elsewhere a named field or column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from qms.deid.keying import normalise_identifier
from qms.deid.text.deidentify import Deidentifier
from qms.deid.text.phi import PhiType
from qms.errors import QmsError

__all__ = ["convert_csv", "convert_jsonl", "convert_sr", "convert_text", "Converted", "decode", "Fields",
           "PATIENT_HEADER", "ReportFormat"]

PATIENT_HEADER = re.compile(r"\A(?:[^\n]*\n){0,4}?[ \t]*Patient[ _]?ID[ \t]*:[ \t]*(?P<id>[^\s]+)[ \t]*$", re.M | re.I)
"""A plain-text report may name its patient on one of its first lines: `PatientID: 12345`."""


class ReportFormat(StrEnum):
    TEXT = "text"
    JSONL = "jsonl"
    CSV = "csv"
    DICOM_SR = "dicom-sr"

    @classmethod
    def of(cls, suffix: str) -> ReportFormat | None:
        return {".txt": cls.TEXT, ".text": cls.TEXT, ".jsonl": cls.JSONL, ".ndjson": cls.JSONL, ".csv": cls.CSV,
                ".dcm": cls.DICOM_SR}.get(suffix.lower())


@dataclass(frozen=True)
class Fields:
    """Where a record keeps its report text and its patient id, and which other fields pass through."""

    text: str = "report"
    patient: str = "patient_id"
    keep: tuple[str, ...] = ()


@dataclass
class Converted:
    """One file's output bytes, how many reports it held, and the identifiers replaced (counts only)."""

    data: bytes
    reports: int = 0
    identifiers: Counter[PhiType] = field(default_factory=Counter)


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is dropped); anything else is refused with the byte offset."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise QmsError(f"line {line}: byte {exc.start} is not UTF-8 (0x{data[exc.start]:02x})",
                       hint="convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    if not text.strip():
        raise QmsError("the file is empty", hint="remove it, or give it a report")
    return text


def convert_text(data: bytes, deid: Deidentifier, patient: str | None) -> Converted:
    text = decode(data)
    header = PATIENT_HEADER.search(text)
    patient = patient or (header.group("id") if header else None)
    if not patient:
        raise QmsError("no patient id for this report",
                       hint="add a 'PatientID: ...' line at the top, list it in --patient-map, or give --patient-id")
    result = deid.deidentify(text, patient)
    return Converted(result.text.encode(), 1, result.counts)


def _record(row: dict[str, Any], fields: Fields, where: str, deid: Deidentifier, out: Converted) -> dict[str, Any]:
    for name in (fields.text, fields.patient):
        if name not in row:
            raise QmsError(f"{where}: no field '{name}'", hint=f"present: {', '.join(sorted(map(str, row)))[:200]}")
    text, patient = row[fields.text], row[fields.patient]
    if not isinstance(text, str):
        raise QmsError(f"{where}: field '{fields.text}' is {type(text).__name__}, not text")
    if not isinstance(patient, (str, int)) or not normalise_identifier(str(patient)):
        raise QmsError(f"{where}: field '{fields.patient}' holds no patient id")
    result = deid.deidentify(text, str(patient))
    out.reports += 1
    out.identifiers.update(result.counts)
    record: dict[str, Any] = {fields.patient: deid.key.pseudonym("patient", normalise_identifier(str(patient))),
              fields.text: result.text}
    for name in fields.keep:
        value = row.get(name)
        record[name] = deid.deidentify(value, str(patient)).text if isinstance(value, str) else value
    return record


def convert_jsonl(data: bytes, deid: Deidentifier, fields: Fields) -> Converted:
    out = Converted(b"")
    lines = []
    for number, line in enumerate(decode(data).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QmsError(f"line {number}: not JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise QmsError(f"line {number}: a JSON object is expected, found {type(row).__name__}")
        record = _record(row, fields, f"line {number}", deid, out)
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    out.data = ("\n".join(lines) + "\n").encode()
    return out


def convert_csv(data: bytes, deid: Deidentifier, fields: Fields) -> Converted:
    reader = csv.DictReader(io.StringIO(decode(data), newline=""))
    header = reader.fieldnames or []
    for name in (fields.text, fields.patient, *fields.keep):
        if name not in header:
            raise QmsError(f"line 1: no column '{name}' in the header", hint=f"columns: {', '.join(header)[:200]}")
    out = Converted(b"")
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=[fields.patient, fields.text, *fields.keep], lineterminator="\n")
    writer.writeheader()
    try:
        for row in reader:
            if None in row:
                raise QmsError(f"line {reader.line_num}: more values than columns")
            writer.writerow(_record(row, fields, f"line {reader.line_num}", deid, out))
    except csv.Error as exc:
        raise QmsError(f"line {reader.line_num}: {exc}") from None
    out.data = buffer.getvalue().encode()
    return out


def _content(ds: Dataset, path: str = "") -> Iterator[tuple[str, Dataset]]:
    """Every content item of an SR tree, depth first, with its path (PS3.3 C.17.3)."""
    for i, item in enumerate(ds.get("ContentSequence", [])):
        here = f"{path}ContentSequence[{i}]"
        yield here, item
        yield from _content(item, here + ".")


def convert_sr(data: bytes, deid: Deidentifier) -> Converted:
    """The text values of an SR (TEXT, PNAME, DATE items), de-identified, as JSON; headers are the DICOM pipeline's."""
    from qms.deid.dataset import patient_key  # the DICOM pipeline imports this package's detector: import it late
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, OSError) as exc:
        raise QmsError(f"not a readable DICOM file: {exc}") from None
    if ds.get("Modality") != "SR" and "ContentSequence" not in ds:
        raise QmsError("(0008,0060) Modality is not SR and there is no (0040,A730) ContentSequence")
    patient = patient_key(str(ds.get("PatientID", "")), str(ds.get("PatientName", "")))
    if not patient:
        raise QmsError("(0010,0020) PatientID and (0010,0010) PatientName are both empty: no patient key")
    out = Converted(b"", 1)
    items = []
    surrogates = deid.surrogates(patient)
    for path, item in _content(ds):
        kind = str(item.get("ValueType", ""))
        concept = item.ConceptNameCodeSequence[0].get("CodeMeaning", "") if item.get("ConceptNameCodeSequence") else ""
        value: str | None = None
        if kind == "TEXT" and "TextValue" in item:
            result = deid.deidentify(str(item.TextValue), patient)
            out.identifiers.update(result.counts)
            value = result.text
        elif kind == "PNAME" and "PersonName" in item:
            value = surrogates.replace(PhiType.NAME, str(item.PersonName).replace("^", " ").strip())
            out.identifiers[PhiType.NAME] += 1
        elif kind == "DATE" and "Date" in item:
            value = surrogates.replace(PhiType.DATE, str(item.Date))
            out.identifiers[PhiType.DATE] += 1
        if value is not None:
            items.append({"path": path, "concept": str(concept), "value_type": kind, "value": value})
    document = {"patient": deid.key.pseudonym("patient", patient), "items": items}
    out.data = (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
    return out

