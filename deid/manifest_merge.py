"""The manifest rewritten at the end of a batch: the previous manifest merged with the journal, on disk.

Each record gets a sequence number (the previous manifest's 0, the journal's its line number), so
"latest wins" is decided by sorting, not by a table in memory: file records are sorted by (output,
sequence) and the last of each output kept (a file redone replaces its entry); these and the
quarantine records are then sorted by input sha256 (`qms.deid.sortruns`, runs on disk), and a
quarantined input stands unless a later file record of the same input does. Patients are counted
by a third sort of their pseudonyms. The result is written beside the manifest, fsync'ed and renamed
into place (`qms.atomic`), then the journal (and a schema-1 manifest it replaces) removed: a crash
between the two leaves a journal whose merge again changes nothing. Memory is one sort run.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from qms import atomic
from qms.deid.manifest import (JOURNAL, LEGACY_MANIFEST, MANIFEST, Header, canonical_entry, journal_lines, line,
                               read_head, read_legacy, records_with_lines)
from qms.deid.sortruns import RUN, sorted_records
from qms.hashing import canonical_json, sha256_hex

__all__ = ["Sealed", "finalize"]


@dataclass(frozen=True)
class Sealed:
    """What a merge wrote: the manifest's digest, its totals, and the schema-1 digest it replaced (if any)."""

    sha256: str
    totals: dict[str, Any]
    migrated_from: str | None


def _previous(out_dir: Path) -> tuple[tuple[dict[str, Any], ...], list[dict[str, Any]] | None, str | None]:
    """(batches, entries of a schema-1 manifest or None, the schema-1 digest it was or is being migrated
    from) of the manifest the merge starts from."""
    head = read_head(out_dir)
    if head is not None:
        return head.batches, None, head.header.migrated_from
    legacy = read_legacy(out_dir)
    if legacy is None:
        return (), None, None
    return tuple(legacy["batches"]), [*legacy["files"], *legacy["quarantined"]], sha256_hex(canonical_json(legacy))


Stamped = tuple[int, dict[str, Any], bytes]
"""(sequence, record, its canonical line)."""


def _stamped(out_dir: Path, legacy: list[dict[str, Any]] | None) -> Iterator[Stamped]:
    """Every file and quarantine record, the previous manifest's first (sequence 0), then the journal's."""
    if legacy is not None:
        for item in legacy:
            entry = canonical_entry(item)
            yield 0, entry, line(entry)
    elif (out_dir / MANIFEST).is_file():
        for item, raw in records_with_lines(out_dir):
            if item.get("status") in ("done", "quarantined"):
                yield 0, item, raw
    _, journal = journal_lines(out_dir)
    for seq, (item, raw) in enumerate(journal, start=1):
        yield seq, item, raw


def _latest_per_output(stamped: Iterator[Stamped], tmp: Path, run: int) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """File records sorted by output, the latest of each kept, keyed for the sort by input; the quarantine
    records, set aside on the way (in a file: the sort reads all its input before it gives the first record),
    after them."""
    side = tmp / "quarantined.pickle"

    def files(f: BinaryIO) -> Iterator[tuple[tuple[Any, ...], Any]]:
        for seq, item, raw in stamped:
            if item["status"] == "done":
                yield (item["output"], seq), (seq, item["input_sha256"], raw)
            else:
                pickle.dump((seq, item["input_sha256"], raw), f, protocol=pickle.HIGHEST_PROTOCOL)

    with side.open("wb") as f:
        merged = sorted_records(files(f), tmp, run=run)
        first = next(merged, None)
    held = first
    for (output, seq), value in merged:
        assert held is not None
        if held[0][0] != output:
            yield (held[1][1], 0, held[0][0]), (held[1][0], held[1][2])
        held = ((output, seq), value)
    if held is not None:
        yield (held[1][1], 0, held[0][0]), (held[1][0], held[1][2])
    with side.open("rb") as back:
        while True:
            try:
                seq, sha, raw = pickle.load(back)  # the file this very call wrote
            except EOFError:
                break
            yield (sha, 1, seq), (seq, raw)


def _by_input(out_dir: Path, legacy: list[dict[str, Any]] | None, tmp: Path,
              run: int) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Records keyed (input sha256, 0 file / 1 quarantine, output / sequence), valued (sequence, line)."""
    folder = tmp / "outputs"
    folder.mkdir()
    yield from _latest_per_output(_stamped(out_dir, legacy), folder, run)


def _patients(path: Path, tmp: Path, run: int) -> int:
    folder = tmp / "patients"
    folder.mkdir()
    with path.open("rb") as f:
        names = ((raw,) for raw in f)
        distinct, last = 0, None
        for (name,), _ in sorted_records(((n, None) for n in names), folder, run=run):
            distinct += name != last
            last = name
    return distinct


def finalize(out_dir: Path, header: Header, batch: dict[str, Any] | None = None, *, run: int = RUN) -> Sealed:
    """Merge OUT's manifest (either schema) with its journal and `batch` (a batch's summary; None when
    recovering an interrupted batch) into a new schema-2 manifest; remove the journal and the schema-1 file."""
    batches, legacy, migrated = _previous(out_dir)
    header = Header(header.key_id, header.options, header.profile, header.migrated_from or migrated)
    actions: Counter[str] = Counter()
    files = quarantined = 0
    with tempfile.TemporaryDirectory(prefix=f".{out_dir.name}.merge-", dir=out_dir.parent) as name:
        tmp = Path(name)
        body, held, patients = tmp / "files.jsonl", tmp / "quarantined.jsonl", tmp / "patients.txt"
        with body.open("wb") as done_f, held.open("wb") as held_f, patients.open("wb") as patient_f:
            group: str | None = None
            newest_file, quarantine = -1, None
            for (sha, kind, _), (seq, raw) in sorted_records(_by_input(out_dir, legacy, tmp, run), tmp, run=run):
                if sha != group:
                    if quarantine is not None and quarantine[0] > newest_file:
                        held_f.write(quarantine[1])
                        quarantined += 1
                    group, newest_file, quarantine = sha, -1, None
                if kind == 0:
                    done_f.write(raw)
                    item = json.loads(raw)
                    patient_f.write(item["patient"].encode() + b"\n")
                    actions.update(item["actions"])
                    files += 1
                    newest_file = max(newest_file, seq)
                else:
                    quarantine = (seq, raw)
            if quarantine is not None and quarantine[0] > newest_file:
                held_f.write(quarantine[1])
                quarantined += 1
        totals = {"status": "totals", "files": files, "quarantined": quarantined,
                  "patients": _patients(patients, tmp, run), "actions": dict(sorted(actions.items()))}
        digest = hashlib.sha256()
        with atomic.atomic_writer(out_dir / MANIFEST) as f:
            def put(data: bytes) -> None:
                digest.update(data)
                f.write(data)
            put(line(header.to_json()))
            for item in (*batches, *(() if batch is None else (batch,))):
                put(line({**item, "status": "batch"}))
            for part in (body, held):
                with part.open("rb") as src:
                    while chunk := src.read(1 << 20):
                        put(chunk)
            put(line(totals))
            f.write(line({"status": "seal", "sha256": digest.hexdigest()}))
    (out_dir / LEGACY_MANIFEST).unlink(missing_ok=True)
    (out_dir / JOURNAL).unlink(missing_ok=True)
    return Sealed(digest.hexdigest(), {k: v for k, v in totals.items() if k != "status"},
                  migrated if legacy is not None else None)

