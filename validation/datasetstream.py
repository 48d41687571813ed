"""`dataset create` at scale: a labels table streamed, hashed by an engine, written as a file table.

`qms.validation.dataset.create_manifest` holds the labels table and the manifest in memory;
here neither is held, so `qms dataset create` runs in flat memory whatever the number of files.
The labels table is read as a stream three times: once for the split's counts, its label
columns and its exclusions (few), once into sorted runs on disk (an external sort by file, so
the table may list its files in any order), and once merged from the runs in chunks of rows
whose files an engine (`qms.compute`) hashes and reads, and whose entries go, in file order,
into a Parquet file table (`qms.validation.filetable`) sealed by the manifest's own sha256.
Peak memory is one run, one chunk and one row group. The files may be a local folder or an
fsspec URL (`qms.compute.storage`). `write_manifest` is what `qms dataset create` calls: a
`.parquet` output is the file table itself, any other the JSON form streamed from it (the same
sha256, byte for byte the JSON `create_manifest` gives). `progress` is told the number of files once
(the first pass counts them) and then each file hashed: the CLI draws the bar.
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from qms.compute.engine import Engine
from qms.compute.local import LocalEngine
from qms.compute.storage import Storage
from qms.errors import QmsError
from qms.validation.dataset import (DICOM_ATTRIBUTES, READER_SEP, EntryShape, HeaderFacts, HeaderRead, LabelRow,
                                    Refused, binary_columns, check_split, chosen_labels, excluded, label_columns_of,
                                    label_rows, reader_columns)
from qms.validation.filetable import (FileTable, ManifestHead, TableSummary, read_file_table, write_file_table,
                                      write_manifest_json)
from qms.validation.manifest import Exclusion, ManifestEntry, posix_path

__all__ = ["CHUNK", "Progress", "RUN", "create_file_table", "write_manifest"]

Progress = Callable[[int, str], None]
"""Called with (total, "") once, then (0, "hashed") after each file: the CLI draws the bar."""

CHUNK = 8_192
"""Rows handed to the engine at once: the driver holds one chunk's rows and results."""
RUN = 32_768
"""Rows sorted in memory at once; a longer table is sorted in runs on disk and merged."""


def _key(row: LabelRow) -> str:
    return posix_path(row.file)


@dataclass
class _Survey:
    """The first pass: the split's row counts, its exclusions and the columns that could be labels."""

    in_split: int = 0
    included: int = 0
    exclusions: list[Exclusion] = field(default_factory=list)
    binary: list[str] = field(default_factory=list)


def _survey(root: Storage, labels_csv: Path, split: str | None, columns: list[str]) -> _Survey:
    survey = _Survey()

    def included() -> Iterator[LabelRow]:
        for row in label_rows(labels_csv):
            if split is not None and row.split != split:
                continue
            survey.in_split += 1
            if row.exclusion:
                survey.exclusions.append(excluded(root, row, f"{labels_csv}:{row.line}"))
                continue
            if not row.file:
                raise QmsError("empty 'file' cell", where=f"{labels_csv}:{row.line}")
            survey.included += 1
            yield row

    survey.binary = binary_columns(included(), columns)
    return survey


def _run(rows: list[LabelRow], folder: Path, number: int) -> Path:
    path = folder / f"run-{number}.pickle"
    with path.open("wb") as f:
        for row in sorted(rows, key=_key):
            pickle.dump(row, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _read_run(f: BinaryIO) -> Iterator[LabelRow]:
    while True:
        try:
            yield pickle.load(f)  # our own run file of this very call, never user input
        except EOFError:
            return


def _in_file_order(labels_csv: Path, split: str | None, folder: Path) -> Iterator[LabelRow]:
    """The included rows of the split sorted by file, in runs of `RUN` rows on disk merged; a file listed
    twice is refused with both lines."""
    runs: list[Path] = []
    rows: list[LabelRow] = []
    for row in label_rows(labels_csv):
        if (split is None or row.split == split) and not row.exclusion:
            rows.append(row)
            if len(rows) == RUN:
                runs.append(_run(rows, folder, len(runs)))
                rows = []
    with ExitStack() as stack:
        if runs:
            runs.append(_run(rows, folder, len(runs)))
            rows = []
            merged: Iterator[LabelRow] = heapq.merge(
                *(_read_run(stack.enter_context(path.open("rb"))) for path in runs), key=_key)
        else:
            merged = iter(sorted(rows, key=_key))
        last: LabelRow | None = None
        for row in merged:
            if last is not None and _key(last) == _key(row):
                raise QmsError(f"file {_key(row)!r} is listed twice in the labels table (also on line {last.line})",
                               where=f"{labels_csv}:{row.line}", hint="one row per file")
            last = row
            yield row


def _entries(rows: Iterator[LabelRow], read: HeaderRead, shape: EntryShape, engine: Engine, labels_csv: Path,
             exclusions: frozenset[str], progress: Progress | None) -> Iterator[ManifestEntry]:
    chunk: list[LabelRow] = []
    for row in rows:
        if _key(row) in exclusions:
            raise QmsError("file listed twice in the labels table (included and excluded)", where=f"{labels_csv}:"
                           f"{row.line}")
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield from _chunk(chunk, read, shape, engine, labels_csv, progress)
            chunk = []
    yield from _chunk(chunk, read, shape, engine, labels_csv, progress)


def _chunk(rows: list[LabelRow], read: HeaderRead, shape: EntryShape, engine: Engine,
           labels_csv: Path, progress: Progress | None) -> Iterator[ManifestEntry]:
    facts: dict[str, HeaderFacts | Refused] = {}
    for fact in engine.map(read, [r.file for r in rows]):
        facts[fact.file] = fact
        if progress:
            progress(0, "hashed")
    for row in rows:
        yield shape.entry(row, facts[row.file], f"{labels_csv}:{row.line}")


def create_file_table(
    source: str | Path, labels_csv: Path, out: Path, *, split: str | None, name: str,
    label_columns: Sequence[str] | None = None, description: str = "", engine: Engine | None = None,
    progress: Progress | None = None,
) -> FileTable:
    """Hash every listed file of `split` under `source` (a folder or a storage URL) on `engine`, write the
    manifest as a file table at `out`, open it. The same checks, manifest and sha256 as `create_manifest`."""
    root = Storage(str(source))
    if not root.is_dir():
        raise QmsError("the dataset folder does not exist", where=str(source))
    columns = label_columns_of(labels_csv)
    survey = _survey(root, labels_csv, split, columns)
    check_split(labels_csv, split, survey.in_split, survey.included)
    if progress:
        progress(survey.included, "")
    labels = chosen_labels(label_columns, columns, survey.binary, labels_csv)
    readers = reader_columns(columns, labels, labels_csv)
    extra = tuple(c for c in columns if c not in labels and READER_SEP not in c)
    head = ManifestHead(name, split or "all", tuple(labels), tuple(sorted(set(DICOM_ATTRIBUTES) | set(extra))),
                        description, tuple(survey.exclusions))
    shape = EntryShape(tuple(labels), extra, readers)
    excluded_files = frozenset(x.file for x in survey.exclusions)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".qms-sort-", dir=out.parent) as folder:
        rows = _in_file_order(labels_csv, split, Path(folder))
        write_file_table(out, head, _entries(rows, HeaderRead(root), shape, engine or LocalEngine(), labels_csv,
                                             excluded_files, progress))
    return read_file_table(out)


def write_manifest(
    source: str | Path, labels_csv: Path, out: Path, *, split: str | None, name: str,
    label_columns: Sequence[str] | None = None, description: str = "", engine: Engine | None = None,
    progress: Progress | None = None,
) -> TableSummary:
    """`create_file_table` into `out` when it ends in `.parquet`, else into the JSON form at `out` (through a
    file table beside it, removed after); the manifest's head, hash and counts."""
    if out.suffix == ".parquet":
        return create_file_table(source, labels_csv, out, split=split, name=name, label_columns=label_columns,
                                 description=description, engine=engine, progress=progress).summary()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".qms-table-", dir=out.parent) as folder:
        table = create_file_table(source, labels_csv, Path(folder) / "table.parquet", split=split, name=name,
                                  label_columns=label_columns, description=description, engine=engine,
                                  progress=progress)
        write_manifest_json(table, out)
        return table.summary()
