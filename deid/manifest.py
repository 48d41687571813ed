"""The batch manifest: input sha256 -> output sha256, pseudonymous ids, counts; never PHI.

`OUT/deid-manifest.jsonl` holds one canonical JSON line (`qms.hashing.canonical_json`) per
record, the journal's own format: the header (key id, options, profile), one line per batch,
one per de-identified file sorted by (input sha256, output), one per quarantined input sorted by
input sha256, the totals, and last the seal: the sha256 of every line above it, which is the
manifest's digest (the `deid.batch` audit event records it). While a batch runs, each finished
file is appended to `OUT/.deid-journal.jsonl` (flushed per line, not fsync'ed: a resume re-checks
every recorded output's sha256); at its end the driver merges the previous manifest with the
journal on disk (`qms.deid.manifest_merge`) and renames the result into place, so neither is ever
held in memory and the file is the same whatever order the files finished in. Sorted by input
sha256, the manifest is its own index: a resumed batch looks a file up by binary search
(`qms.deid.manifest_lookup`). Files are named by their output names and a keyed digest of their
source path (`source`, `qms.deid.names.source_digest`), never by the source's name, which may hold
PHI (a quarantined input's copy, outside OUT, keeps its name; only the CLI's report says where).

Folders written before this form hold `deid-manifest.json` (schema 1, one JSON document): it is
still read (`read_document`, `manifest_digest`), and the next batch into the folder migrates it
(`qms.deid.manifest_merge.finalize`), recording the old digest in the header (`migrated_from`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from qms.errors import QmsError
from qms.hashing import canonical_json, sha256_file, sha256_hex

__all__ = ["FileEntry", "Header", "JOURNAL", "Journal", "LEGACY_MANIFEST", "MANIFEST", "ManifestHead",
           "QuarantineEntry", "check_seal", "journal_items", "journal_lines", "records_with_lines", "line", "manifest_digest", "read_document", "read_head",
           "read_legacy"]

MANIFEST = "deid-manifest.jsonl"
LEGACY_MANIFEST = "deid-manifest.json"
"""Schema 1: the whole manifest as one JSON document (read, and migrated by the next batch)."""
JOURNAL = ".deid-journal.jsonl"
SCHEMA = "qms.deid.manifest/2"
LEGACY_SCHEMA = "qms.deid.manifest/1"
_HINT = "it is written by `qms deid dicom`; restore it or use a new output folder"


def line(item: dict[str, Any]) -> bytes:
    """One record as the journal and the manifest write it: canonical JSON and a newline."""
    return canonical_json(item) + b"\n"


@dataclass(frozen=True)
class FileEntry:
    """One de-identified file. `output` is relative to OUT; no original value appears."""

    output: str
    input_sha256: str
    output_sha256: str
    patient: str
    study: str | None
    actions: dict[str, int]
    pixels: dict[str, Any] | None = None
    growth: str | None = None
    """Why the output is over 1.1 times its input's size (`qms.deid.growth`); None when it is not."""
    source: str | None = None
    """A keyed digest of the source's relative path (`qms.deid.names.source_digest`); None in older manifests."""

    def to_json(self) -> dict[str, Any]:
        entry = {"status": "done", "output": self.output, "input_sha256": self.input_sha256,
                 "output_sha256": self.output_sha256, "patient": self.patient, "study": self.study,
                 "actions": dict(sorted(self.actions.items())), "pixels": self.pixels, "source": self.source}
        return entry if self.growth is None else {**entry, "growth": self.growth}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileEntry:
        return cls(data["output"], data["input_sha256"], data["output_sha256"], data["patient"], data["study"],
                   dict(data["actions"]), data.get("pixels"), data.get("growth"), data.get("source"))

    def intact(self, out_dir: Path) -> bool:
        path = out_dir / self.output
        return path.is_file() and sha256_file(path) == self.output_sha256


@dataclass(frozen=True)
class QuarantineEntry:
    """An input that was not de-identified: its copy's path in the quarantine folder, and why.

    `to_json` (the batch report) says where the copy is; `recorded` (the manifest in OUT) does not.
    """

    input_sha256: str
    quarantine: str
    reason: str
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {**self.recorded(), "quarantine": self.quarantine}

    def recorded(self) -> dict[str, Any]:
        """The entry as OUT's manifest keeps it: no name, the keyed digest of the source path."""
        return {"status": "quarantined", "input_sha256": self.input_sha256, "source": self.source,
                "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QuarantineEntry:
        return cls(data["input_sha256"], "", data["reason"], data.get("source"))


def canonical_entry(item: dict[str, Any]) -> dict[str, Any]:
    """A file or quarantine record as this version writes it (older ones named the quarantined copy)."""
    if item.get("status") == "quarantined":
        return QuarantineEntry.from_json(item).recorded()
    return FileEntry.from_json(item).to_json()


@dataclass(frozen=True)
class Header:
    """What every batch into one folder must share: the key (by id), the options, the profile."""

    key_id: str
    options: dict[str, Any]
    profile: str
    migrated_from: str | None = None
    """The digest of the schema-1 manifest this one was migrated from (what its batches' events record)."""

    def to_json(self) -> dict[str, Any]:
        head = {"schema": SCHEMA, "key_id": self.key_id, "options": self.options, "profile": self.profile}
        return head if self.migrated_from is None else {**head, "migrated_from": self.migrated_from}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Header:
        return cls(data["key_id"], data["options"], data["profile"], data.get("migrated_from"))


@dataclass(frozen=True)
class ManifestHead:
    """A manifest without its entries: header, batches, totals and digest (read without the entries)."""

    header: Header
    batches: tuple[dict[str, Any], ...]
    totals: dict[str, Any]
    sha256: str


def _bad(path: Path, why: str, number: int | None = None) -> QmsError:
    """The error naming the manifest, and the line (from 1) where it is known."""
    return QmsError(f"the manifest cannot be read: {why}", where=str(path) if number is None else f"{path}:{number}",
                    hint=_HINT)


def _parse(raw: bytes, path: Path, number: int | None = None) -> dict[str, Any]:
    try:
        item = json.loads(raw)
    except ValueError as exc:
        raise _bad(path, str(exc), number) from exc
    if not isinstance(item, dict):
        raise _bad(path, "a line is not a JSON object", number)
    return item


def _tail(f: IO[bytes], path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The last two lines (totals, seal), read from the end of the file."""
    size = f.seek(0, 2)
    span = 1 << 16
    while True:
        f.seek(max(0, size - span))
        lines = f.read().splitlines()
        if len(lines) >= 3 or span >= size:
            break
        span *= 4
    if len(lines) < 2:
        raise _bad(path, "it ends before its totals and seal")
    return _parse(lines[-2], path), _parse(lines[-1], path)


def read_head(out_dir: Path) -> ManifestHead | None:
    """The head of OUT's manifest (schema 2); None when there is none. Reads the first and last lines only."""
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    with path.open("rb") as f:
        header = _parse(f.readline(), path, 1)
        batches = []
        for number, raw in enumerate(f, start=2):
            item = _parse(raw, path, number)
            if item.get("status") != "batch":
                break
            batches.append({k: v for k, v in item.items() if k != "status"})
        totals, seal = _tail(f, path)
    if header.get("schema") != SCHEMA or totals.get("status") != "totals" or seal.get("status") != "seal":
        raise _bad(path, f"not a {SCHEMA} manifest (header, totals or seal missing)")
    try:
        return ManifestHead(Header.from_json(header), tuple(batches), totals, str(seal["sha256"]))
    except KeyError as exc:
        raise _bad(path, f"{exc} missing") from exc


def _records(out_dir: Path) -> Iterator[dict[str, Any]]:
    """Every line of OUT's manifest but the seal, the seal checked once the last line is read."""
    return (item for item, _ in records_with_lines(out_dir))


def records_with_lines(out_dir: Path) -> Iterator[tuple[dict[str, Any], bytes]]:
    """Every record of OUT's manifest but the seal, with its line (canonical: the file's own bytes); the seal
    is checked once the last line is read. A line that is not a JSON object is refused naming its number."""
    path = out_dir / MANIFEST
    digest = hashlib.sha256()
    with path.open("rb") as f:
        previous: bytes | None = None
        number = 0
        for number, raw in enumerate(f, start=1):
            if previous is not None:
                digest.update(previous)
                yield _parse(previous, path, number - 1), previous
            previous = raw
    seal = _parse(previous or b"{}", path, number or 1)
    if seal.get("status") != "seal" or seal.get("sha256") != digest.hexdigest():
        raise _bad(path, "its lines do not match its seal (the sha256 on its last line): it was changed")


def check_seal(out_dir: Path) -> None:
    """Refuse OUT's manifest (schema 2) when its lines do not match its seal; read as a stream."""
    for _ in _records(out_dir):
        pass


def read_legacy(out_dir: Path) -> dict[str, Any] | None:
    """OUT's schema-1 manifest (`deid-manifest.json`, one document); None when there is none."""
    path = out_dir / LEGACY_MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        for key in ("key_id", "options", "profile", "files", "quarantined", "batches"):
            data[key]  # noqa: B018 - each must be there
    except (ValueError, KeyError, TypeError) as exc:
        raise _bad(path, str(exc)) from exc
    if not isinstance(data, dict):
        raise _bad(path, "not a JSON object")
    return data


def read_document(out_dir: Path) -> dict[str, Any] | None:
    """OUT's manifest, whichever schema, as one document of schema 1's shape (files, quarantined, batches,
    actions, patients, plus `sha256`, its digest, and `file`, its name in OUT); None when there is none. Holds
    every entry: for tests; neither a batch nor `qms deid verify` (`qms.deid.verify_pairs`) calls it."""
    head = read_head(out_dir)
    if head is None:
        legacy = read_legacy(out_dir)
        return None if legacy is None else {**legacy, "sha256": sha256_hex(canonical_json(legacy)),
                                            "file": LEGACY_MANIFEST}
    files: list[dict[str, Any]] = []
    quarantined: list[dict[str, Any]] = []
    for item in _records(out_dir):
        status = item.get("status")
        if status == "done":
            files.append(item)
        elif status == "quarantined":
            quarantined.append(item)
    return {**head.header.to_json(), "files": files, "quarantined": quarantined, "batches": list(head.batches),
            "actions": head.totals.get("actions", {}), "patients": head.totals.get("patients", 0),
            "sha256": head.sha256, "file": MANIFEST}


def manifest_digest(out_dir: Path) -> str | None:
    """The digest of OUT's manifest, the one its batches' `deid.batch` events record; None when there is none."""
    head = read_head(out_dir)
    if head is not None:
        return head.sha256
    legacy = read_legacy(out_dir)
    return None if legacy is None else sha256_hex(canonical_json(legacy))


def journal_items(out_dir: Path) -> tuple[Header | None, Iterator[dict[str, Any]]]:
    """The header of OUT's journal (None when there is none) and its entries, read as a stream; a last
    line cut short by an interrupted batch is left out."""
    header, entries = journal_lines(out_dir)
    return header, (item for item, _ in entries)


def journal_lines(out_dir: Path) -> tuple[Header | None, Iterator[tuple[dict[str, Any], bytes]]]:
    """As `journal_items`, each entry with its canonical line: the journal's own bytes where this version
    wrote it (its header names the schema), else the entry rewritten as this version writes it."""
    path = out_dir / JOURNAL
    if not path.is_file():
        return None, iter(())
    with path.open("rb") as f:
        first = f.readline()
    try:
        head = json.loads(first)
        header = Header.from_json(head)
    except (ValueError, KeyError, TypeError):
        return None, iter(())
    canonical = head.get("schema") == SCHEMA

    def entries() -> Iterator[tuple[dict[str, Any], bytes]]:
        with path.open("rb") as f:
            f.readline()
            for raw in f:
                if not raw.endswith(b"\n"):
                    continue  # the last line of an interrupted batch may be cut short
                try:
                    item = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(item, dict) and item.get("status") in ("done", "quarantined"):
                    if not canonical:
                        item = canonical_entry(item)
                    yield item, raw if canonical else line(item)

    return header, entries()


class Journal:
    """Append-only record of the finished files of the running batch (flushed per line, not fsync'ed)."""

    def __init__(self, out_dir: Path, header: Header) -> None:
        self.path = out_dir / JOURNAL
        fresh = not self.path.is_file()
        self._f = self.path.open("ab")
        if fresh:
            self._write(header.to_json())

    def _write(self, item: dict[str, Any]) -> None:
        self._f.write(line(item))
        self._f.flush()

    def append(self, entry: FileEntry | QuarantineEntry) -> None:
        self._write(entry.to_json() if isinstance(entry, FileEntry) else entry.recorded())

    def close(self) -> None:
        self._f.close()
