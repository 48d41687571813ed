"""The batch manifest: input sha256 -> output sha256, pseudonymous ids, counts; never PHI.

`OUT/deid-manifest.json` is written atomically at the end of each batch; while a batch
runs, each finished file is appended to `OUT/.deid-journal.jsonl`, so an interrupted batch
resumes where it stopped: a rerun skips every file whose recorded output is still intact.
Files are named by their output names and a keyed digest of their source path (`source`,
`qms.deid.names.source_digest`), never by the source's name, which may hold PHI: a quarantined
input too (its copy in the quarantine folder, never inside OUT, keeps its name; only the batch
report the CLI prints says where it is).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qms import atomic
from qms.errors import QmsError
from qms.hashing import sha256_file

__all__ = ["FileEntry", "JOURNAL", "Journal", "MANIFEST", "Manifest", "QuarantineEntry"]

MANIFEST = "deid-manifest.json"
JOURNAL = ".deid-journal.jsonl"
SCHEMA = "qms.deid.manifest/1"


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


@dataclass
class Manifest:
    """All files of an output folder, over every batch that wrote into it."""

    key_id: str
    options: dict[str, Any]
    profile: str
    files: dict[str, FileEntry] = field(default_factory=dict)
    quarantined: dict[str, QuarantineEntry] = field(default_factory=dict)
    batches: list[dict[str, Any]] = field(default_factory=list)

    def add(self, entry: FileEntry | QuarantineEntry) -> None:
        if isinstance(entry, FileEntry):
            self.files[entry.output] = entry
            self.quarantined.pop(entry.input_sha256, None)
        else:
            self.quarantined[entry.input_sha256] = entry

    def totals(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for entry in self.files.values():
            counts.update(entry.actions)
        return dict(sorted(counts.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA, "profile": self.profile, "key_id": self.key_id, "options": self.options,
            "files": [e.to_json() for _, e in sorted(self.files.items())],
            "quarantined": [e.recorded() for _, e in sorted(self.quarantined.items())],
            "batches": self.batches, "actions": self.totals(),
            "patients": len({e.patient for e in self.files.values()}),
        }

    def write(self, out_dir: Path) -> None:
        atomic.write_text(out_dir / MANIFEST, json.dumps(self.to_json(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, out_dir: Path) -> Manifest | None:
        """The manifest of OUT with any journal of an interrupted batch replayed; None when there is none."""
        path = out_dir / MANIFEST
        manifest: Manifest | None = None
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                manifest = cls(data["key_id"], data["options"], data["profile"], batches=list(data["batches"]))
                for item in data["files"]:
                    manifest.add(FileEntry.from_json(item))
                for item in data["quarantined"]:
                    manifest.add(QuarantineEntry(item["input_sha256"], "", item["reason"], item.get("source")))
            except (ValueError, KeyError, TypeError) as exc:
                raise QmsError(f"the manifest cannot be read: {exc}", where=str(path),
                               hint="it is written by `qms deid dicom`; restore it or use a new output folder") from exc
        journal = out_dir / JOURNAL
        if journal.is_file():
            lines = journal.read_text(encoding="utf-8").splitlines()
            header = json.loads(lines[0]) if lines else None
            if header is not None:
                if manifest is None:
                    manifest = cls(header["key_id"], header["options"], header["profile"])
                for line in lines[1:]:
                    try:
                        item = json.loads(line)
                    except ValueError:
                        continue  # the last line of an interrupted batch may be cut short
                    if item.get("status") == "done":
                        manifest.add(FileEntry.from_json(item))
        return manifest


class Journal:
    """Append-only record of finished files of the running batch (flushed per line)."""

    def __init__(self, out_dir: Path, manifest: Manifest) -> None:
        self.path = out_dir / JOURNAL
        fresh = not self.path.is_file()
        self._f = self.path.open("a", encoding="utf-8")
        if fresh:
            self._write({"key_id": manifest.key_id, "options": manifest.options, "profile": manifest.profile})

    def _write(self, item: dict[str, Any]) -> None:
        self._f.write(json.dumps(item, sort_keys=True) + "\n")
        self._f.flush()

    def append(self, entry: FileEntry | QuarantineEntry) -> None:
        self._write(entry.to_json() if isinstance(entry, FileEntry) else entry.recorded())

    def close(self, *, remove: bool) -> None:
        self._f.close()
        if remove:
            self.path.unlink(missing_ok=True)
