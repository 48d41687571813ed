"""The batch: every file of IN de-identified into OUT, in parallel, resumable, quarantining bad input.

Safety (issues 4, 19): the input is only read; each output is written atomically (qms.atomic);
a file that cannot be read, parsed or cleaned, whatever the decoder raises, is copied with a
reason file into the quarantine folder, which is never inside OUT (`qms.deid.quarantine`), and
the batch goes on; a rerun skips what the manifest records as done and intact. An output
more than 1.1 times its input's size says why in its manifest entry (`qms.deid.growth`).

Memory is flat in the number of files (issue 17): the input is listed as a stream and handed to
the engine in chunks of `CHUNK` files; each result goes to the journal as it arrives, and the
manifest is rewritten at the end as a merge on disk (`qms.deid.manifest_merge`); a resumed
batch looks each file up in the manifest by binary search (`qms.deid.manifest_lookup`). IN may
be a folder or a storage URL (`qms.compute.storage`: `file://`, `memory://`, `s3://`, `gs://`);
OUT and the quarantine folder are local paths.
"""

from __future__ import annotations

import fnmatch
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qms import atomic
from qms.compute.engine import Engine
from qms.compute.local import LocalEngine
from qms.compute.storage import Storage
from qms.deid.dataset import Deidentifier
from qms.deid.keying import DeidKey
from qms.deid.growth import growth_note
from qms.deid.manifest import (JOURNAL, LEGACY_MANIFEST, MANIFEST, FileEntry, Header, Journal, QuarantineEntry,
                               check_seal, journal_items, read_head, read_legacy)
from qms.deid.manifest_lookup import DoneLookup
from qms.deid.manifest_merge import finalize
from qms.deid.names import mirrored, source_digest
from qms.deid.options import DeidOptions, OutputNames
from qms.deid.pixels import PixelOptions
from qms.deid.profile import EDITION
from qms.deid.quarantine import check_quarantine, default_quarantine, quarantine_file, shared_reason
from qms.deid.reader import MalformedInput, deidentify_bytes
from qms.errors import QmsError
from qms.hashing import sha256_hex

if TYPE_CHECKING:
    from qms.store import Store

__all__ = ["CHUNK", "DicomBatchReport", "Progress", "run_batch"]

CHUNK = 65_536
"""Input files handed to the engine at once: the driver holds one chunk's names."""

Progress = Callable[[int, str], None]
"""Called with (total, "") once, then (0, status) after each file: the CLI draws the bar."""


@dataclass(frozen=True)
class DicomBatchReport:
    """The outcome of one batch: counts, where the manifest is, and what was quarantined why."""

    batch_id: str
    out_dir: Path
    quarantine_dir: Path
    processed: int
    skipped: int
    quarantined: tuple[QuarantineEntry, ...]
    actions: dict[str, int]
    key_id: str

    def to_json(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "out": str(self.out_dir), "manifest": str(self.out_dir / MANIFEST),
                "quarantine_folder": str(self.quarantine_dir),
                "processed": self.processed, "skipped": self.skipped, "key_id": self.key_id,
                "quarantined": [q.to_json() for q in self.quarantined], "actions": self.actions}


@dataclass(frozen=True)
class _Outcome:
    rel: str
    entry: FileEntry | QuarantineEntry | None  # None: skipped, its prior entry still stands


@dataclass(frozen=True)
class _FileTask:
    """The per-file work an engine runs (`qms.compute`): picklable; its de-identifier is built once per worker."""

    key: DeidKey
    options: DeidOptions
    pixels: PixelOptions
    source: Storage
    out_dir: Path
    quarantine: Path
    done: DoneLookup

    @cached_property
    def deidentifier(self) -> Deidentifier:
        return Deidentifier(self.key, self.options)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "deidentifier"}  # built where it runs

    def __call__(self, rel: str) -> _Outcome:
        data = self.source.read_bytes(rel)
        digest = sha256_hex(data)
        mirror = self.options.output_names is OutputNames.MIRROR
        source = source_digest(self.key, rel)
        for prior in self.done.get(digest):
            if (not mirror or prior.source == source) and prior.intact(self.out_dir):
                return _Outcome(rel, None)
        try:
            result = deidentify_bytes(data, self.deidentifier, self.pixels)
        except MalformedInput as exc:
            reason = exc.diagnostics()
            quarantine_file(self.quarantine, rel, data, reason)  # the full reason stays with the PHI
            return _Outcome(rel, QuarantineEntry(digest, rel, shared_reason(reason), source))
        report = result.report
        output = mirrored(rel, self.key, report.hints) if mirror else f"{report.sop_instance or digest}.dcm"
        atomic.write_bytes(self.out_dir / output, result.data, durable=False)  # synced once, before the manifest
        return _Outcome(rel, FileEntry(output, digest, sha256_hex(result.data), report.patient, report.study,
                                       dict(report.actions), result.pixels,
                                       growth_note(len(data), len(result.data), result.pixels), source))


def _inputs(source: Storage, exclude: Sequence[str]) -> Iterator[str]:
    return (rel for rel in source.files()
            if not any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch(rel.rpartition("/")[2], p) for p in exclude))


def _chunks(names: Iterator[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    for name in names:
        chunk.append(name)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _check_folders(source: Storage, out_dir: Path, quarantine: Path) -> None:
    if not source.is_dir():
        raise QmsError("the input folder does not exist", where=source.url)
    in_dir = source.local
    if in_dir is not None:
        a, b = in_dir.resolve(), out_dir.resolve()
        if a == b or a in b.parents or b in a.parents:
            raise QmsError("the output folder must be neither the input folder nor inside it (nor contain it)",
                           where=str(out_dir), hint="choose a separate output folder; the input is never modified")
    check_quarantine(quarantine, out_dir, in_dir)


def _open_manifest(out_dir: Path, key: DeidKey, options: DeidOptions,
                   audit: tuple[Store, str] | None) -> DoneLookup:
    """Check that OUT was written with this key and these options; merge the journal an interrupted batch
    left (and migrate a schema-1 manifest, recording an audit event); the lookup of what is done."""
    wanted = Header(key.key_id, options.to_json(), EDITION)
    head, legacy = read_head(out_dir), None
    found = head.header if head is not None else None
    if head is not None:
        check_seal(out_dir)
    if found is None:
        legacy = read_legacy(out_dir)
        found = Header(legacy["key_id"], legacy["options"], legacy["profile"]) if legacy is not None else None
    if found is None:
        found = journal_items(out_dir)[0]
    if found is not None and (found.key_id, found.options) != (wanted.key_id, wanted.options):
        raise QmsError("this output folder was de-identified with a different key or different options",
                       where=str(out_dir / (MANIFEST if legacy is None else LEGACY_MANIFEST)),
                       hint="a study split over batches must use one key and one set of options; "
                            "use the same ones, or a new output folder")
    if legacy is not None or (out_dir / JOURNAL).is_file():
        sealed = finalize(out_dir, found or wanted)
        if sealed.migrated_from is not None:
            _record(audit, "deid.manifest.migrate", f"deid-manifest:{sealed.sha256[:16]}", sealed.sha256,
                    {"from_schema": "qms.deid.manifest/1", "to_schema": "qms.deid.manifest/2",
                     "from_sha256": sealed.migrated_from, "manifest_sha256": sealed.sha256,
                     "files": sealed.totals["files"], "quarantined": sealed.totals["quarantined"]},
                    before=sealed.migrated_from)
    return DoneLookup(out_dir / MANIFEST if (out_dir / MANIFEST).is_file() else None)


def _record(audit: tuple[Store, str] | None, action: str, subject: str, after: str, details: dict[str, Any],
            before: str | None = None) -> None:
    """An audit event of the driver, where `audit` is (store, actor). The audit trail (and its ORM) is imported
    here, not with this module: the workers unpickle `_FileTask` from it and never record."""
    if audit is None:
        return
    from qms.audit import EventSpec, record

    store, actor = audit
    record(store, EventSpec(actor, action, subject, before=before, after=after, details=details))


def run_batch(
    in_dir: Path | str, out_dir: Path, key: DeidKey, options: DeidOptions, *, pixels: PixelOptions | None = None,
    workers: int = 1, exclude: Sequence[str] = (), audit: tuple[Store, str] | None = None,
    progress: Progress | None = None, quarantine: Path | None = None, engine: Engine | None = None,
) -> DicomBatchReport:
    """De-identify every file of `in_dir` (a folder or a storage URL) into `out_dir`; `audit` is (store, actor)
    for the batch event; `quarantine` is where bad inputs go (default `OUT.quarantine`, beside OUT). `engine`
    runs the files (default a local pool of `workers`); whichever runs them, this process alone writes the
    journal, the manifest and the audit events."""
    engine = engine if engine is not None else LocalEngine(workers)
    source = Storage(str(in_dir))
    quarantine = quarantine if quarantine is not None else default_quarantine(out_dir)
    _check_folders(source, out_dir, quarantine)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = _open_manifest(out_dir, key, options, audit)
    header = Header(key.key_id, options.to_json(), EDITION)
    started = datetime.now(UTC).isoformat()
    batch_id = uuid.uuid4().hex[:16]
    if progress:
        progress(sum(1 for _ in _inputs(source, exclude)), "")  # a first pass, counting names only
    journal = Journal(out_dir, header)
    counts: Counter[str] = Counter()
    quarantined: list[QuarantineEntry] = []
    processed = skipped = 0
    try:
        task = _FileTask(key, options, pixels or PixelOptions(), source, out_dir, quarantine, done)
        for chunk in _chunks(_inputs(source, exclude)):
            for outcome in engine.map(task, chunk):
                if outcome.entry is None:
                    skipped += 1
                else:
                    journal.append(outcome.entry)
                    if isinstance(outcome.entry, FileEntry):
                        processed += 1
                        counts.update(outcome.entry.actions)
                    else:
                        quarantined.append(outcome.entry)
                if progress:
                    progress(0, "skipped" if outcome.entry is None else outcome.entry.to_json()["status"])
    finally:
        journal.close()
    summary = {"batch_id": batch_id, "started": started, "finished": datetime.now(UTC).isoformat(),
               "engine": engine.name, "workers": engine.workers, "processed": processed, "skipped": skipped,
               "quarantined": len(quarantined),
               "actions": dict(sorted(counts.items()))}
    os.sync()  # every output is on disk before the manifest says it is done
    sealed = finalize(out_dir, header, summary)
    _record(audit, "deid.batch", f"deid-batch:{batch_id}", sealed.sha256,
            {**summary, "key_id": key.key_id, "options": options.to_json(), "manifest_sha256": sealed.sha256})
    return DicomBatchReport(batch_id, out_dir, quarantine, processed, skipped, tuple(quarantined),
                            dict(sorted(counts.items())), key.key_id)
