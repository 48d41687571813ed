"""De-identify a batch of report files: outputs, quarantine, manifest, one audit event.

Every output is written atomically; the input is only read. A file that cannot be
de-identified whole (not UTF-8, empty, too large, a missing column, no patient key) is
copied to OUT.quarantine/ (beside OUT) with its reason and produces no output at all. A file of no report
format (by suffix; by content when it has none) is skipped and listed: the batch is then incomplete. The manifest,
written last, lists only digests, pseudonyms and counts: no original value, no input name.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qms import atomic, audit
from qms.deid.keying import DateShiftRange, DeidKey, normalise_identifier
from qms.deid.quarantine import check_quarantine, default_quarantine, write_readme
from qms.deid.text import formats
from qms.deid.text.deidentify import Deidentifier
from qms.deid.text.formats import Converted, Fields, ReportFormat
from qms.errors import QmsError
from qms.hashing import digest_of, sha256_file, sha256_hex
from qms.store import Store

__all__ = ["BatchOptions", "BatchReport", "DEFAULT_MAX_BYTES", "deidentify_reports", "MANIFEST", "Quarantined",
           "record", "SCHEMA"]

MANIFEST = "reports-manifest.json"
SCHEMA = "qms.deid.reports/1"
DEFAULT_MAX_BYTES = 8 * 2**20


@dataclass(frozen=True)
class BatchOptions:
    fields: Fields = Fields()
    patient_id: str | None = None
    patient_map: Path | None = None
    keep_names: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    shift: DateShiftRange = DateShiftRange()


@dataclass(frozen=True)
class Quarantined:
    input: Path
    copy: Path
    input_sha256: str
    reason: str


@dataclass
class BatchReport:
    """What a batch did. `quarantined` names input paths for the operator; the manifest does not."""

    out_dir: Path
    key_id: str
    manifest: dict[str, Any]
    quarantined: list[Quarantined] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every input was de-identified: none quarantined, none skipped as of no known format."""
        return not self.quarantined and not self.skipped

    @property
    def digest(self) -> str:
        return digest_of(self.manifest)

    def to_json(self) -> dict[str, Any]:
        quarantine = [{"input": str(q.input), "copy": str(q.copy), "reason": q.reason} for q in self.quarantined]
        return {"out_dir": str(self.out_dir), "manifest": str(self.out_dir / MANIFEST), "manifest_sha256": self.digest,
                **self.manifest["totals"], "quarantine": quarantine, "skipped_inputs": [str(p) for p in self.skipped],
                "complete": self.complete}


def _inputs(src: Path, out: Path, skip: Path | None) -> list[Path]:
    if not src.exists():
        raise QmsError("the input does not exist", where=str(src))
    src_r, out_r = src.resolve(), out.resolve()
    if out_r == src_r or out_r.is_relative_to(src_r) or src_r.is_relative_to(out_r):
        raise QmsError("the output folder and the input overlap", where=str(out), hint="write OUT outside IN")
    if src.is_file():
        return [src]
    files = [p for p in sorted(src.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    return [p for p in files if skip is None or p.resolve() != skip.resolve()]


def _patient_map(path: Path | None, src: Path) -> dict[str, str]:
    """`file,patient_id` rows; `file` relative to IN."""
    if path is None:
        return {}
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise QmsError(f"cannot read the patient map: {exc}", where=str(path)) from exc
    if rows and not {"file", "patient_id"} <= set(rows[0]):
        raise QmsError("the patient map needs the columns file,patient_id", where=f"{path}:1")
    mapping = {}
    for number, row in enumerate(rows, start=2):
        if not (row.get("file") or "").strip() or not normalise_identifier(row.get("patient_id") or ""):
            raise QmsError("a row without a file or a patient id", where=f"{path}:{number}")
        mapping[(src / row["file"].strip()).resolve().as_posix()] = row["patient_id"].strip()
    return mapping


def _format(path: Path, data: bytes) -> ReportFormat | None:
    """The format by suffix; a file without one by its content (DICOM, else UTF-8 text); None: skipped."""
    found = ReportFormat.of(path.suffix)
    if found is None and data[128:132] == b"DICM":  # PS3.10 §7.1: the preamble and prefix of a DICOM file
        return ReportFormat.DICOM_SR
    if found is None and not path.suffix and b"\0" not in data:
        return ReportFormat.TEXT  # not UTF-8 after all: quarantined with the byte offset, never skipped silently
    return found


def _convert(fmt: ReportFormat, data: bytes, deid: Deidentifier, options: BatchOptions,
             patient: str | None) -> Converted:
    if fmt is ReportFormat.TEXT:
        return formats.convert_text(data, deid, patient)
    if fmt is ReportFormat.JSONL:
        return formats.convert_jsonl(data, deid, options.fields)
    if fmt is ReportFormat.CSV:
        return formats.convert_csv(data, deid, options.fields)
    return formats.convert_sr(data, deid)


_SUFFIX = {ReportFormat.TEXT: ".txt", ReportFormat.JSONL: ".jsonl", ReportFormat.CSV: ".csv",
           ReportFormat.DICOM_SR: ".json"}


def deidentify_reports(src: Path, out: Path, key: DeidKey, options: BatchOptions = BatchOptions(),
                       progress: Callable[[int, int], None] | None = None,
                       quarantine: Path | None = None) -> BatchReport:
    """De-identify every report file of `src` (a file or a folder) into `out`; bad files go to `quarantine`
    (default `OUT.quarantine`, beside OUT: `qms.deid.quarantine`)."""
    files = _inputs(src, out, options.patient_map)
    held = quarantine if quarantine is not None else default_quarantine(out)
    check_quarantine(held, out, src if src.is_dir() else src.parent)
    patients = _patient_map(options.patient_map, src if src.is_dir() else src.parent)
    deid = Deidentifier(key, options.shift)
    root = src if src.is_dir() else src.parent
    items: list[dict[str, Any]] = []
    quarantined: list[Quarantined] = []
    skipped: list[Path] = []
    totals: Counter[str] = Counter()
    for done, path in enumerate(files, start=1):
        rel = path.relative_to(root).as_posix()
        data, fmt = b"", None
        try:
            size = path.stat().st_size
            if size > options.max_bytes:
                raise QmsError(f"the file has {size} bytes; the limit is {options.max_bytes}",
                               hint="split it, or raise --max-bytes")
            data = path.read_bytes()
            fmt = _format(path, data)
            if fmt is None:
                skipped.append(path)
                continue
            patient = patients.get(path.resolve().as_posix()) or options.patient_id
            converted = _convert(fmt, data, deid, options, patient)
        except QmsError as exc:
            quarantined.append(_quarantine(held, key, rel, path, exc))
            continue
        finally:
            if progress:
                progress(done, len(files))
        name = rel if options.keep_names else key.pseudonym("report-file", rel, 16)
        output = Path(name).with_suffix(_SUFFIX[fmt]).as_posix()
        atomic.write_bytes(out / output, converted.data)
        totals.update({t.value: n for t, n in converted.identifiers.items()})
        items.append({"output": output, "format": fmt.value, "input_sha256": sha256_hex(data),
                      "output_sha256": sha256_hex(converted.data), "reports": converted.reports,
                      "identifiers": dict(sorted((t.value, n) for t, n in converted.identifiers.items()))})
    manifest = {
        "schema": SCHEMA, "key_id": key.key_id,
        "date_shift_days": [options.shift.min_days, options.shift.max_days],
        "files": sorted(items, key=lambda i: i["output"]),
        "quarantined": sorted(({"input_sha256": q.input_sha256, "reason": q.reason} for q in quarantined),
                              key=lambda q: q["input_sha256"]),
        "totals": {"files": len(items), "reports": sum(i["reports"] for i in items), "quarantined": len(quarantined),
                   "skipped": len(skipped), "identifiers": dict(sorted(totals.items()))},
    }
    atomic.write_text(out / MANIFEST, _json(manifest))
    return BatchReport(out, key.key_id, manifest, quarantined, skipped)


def _quarantine(folder: Path, key: DeidKey, rel: str, path: Path, exc: QmsError) -> Quarantined:
    """Copy the input into the quarantine folder (never inside OUT: the copy keeps its PHI) with its reason;
    the reason names lines and fields, never values."""
    write_readme(folder)
    copy = folder / (key.pseudonym("report-file", rel, 16) + path.suffix.lower())
    with path.open("rb") as source, atomic.atomic_writer(copy, "wb") as target:
        shutil.copyfileobj(source, target)
    reason = exc.message + (f" ({exc.hint})" if exc.hint else "")
    atomic.write_text(copy.with_name(copy.name + ".reason.txt"), reason + "\n")
    return Quarantined(path, copy, sha256_file(path), reason)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def record(store: Store, actor: str, report: BatchReport) -> None:
    """One audit event for the batch: the manifest's digest and its counts, never PHI."""
    totals = report.manifest["totals"]
    audit.record(store, audit.EventSpec(actor, "deid.reports", f"deid-reports:{report.digest[:16]}",
                                        after=report.digest, details={"key_id": report.key_id, **totals}))
