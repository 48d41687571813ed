"""`dataset create` at scale: a labels table in file order, hashed by an engine, streamed into a file table.

`qms.validation.dataset.create_manifest` holds the labels table and the manifest in memory;
here neither is held. The table is read twice as a stream: once for its exclusions (few), then
in chunks of rows whose files an engine (`qms.compute`) hashes and reads, and whose entries go,
in file order, into a Parquet file table (`qms.validation.filetable`) sealed by the manifest's
own sha256. Peak memory is one chunk and one row group, whatever the number of files. The
labels table must list its files in order (`sort -t, -k1,1` keeps a header-less CSV so) and
name its label columns: detecting them would need every row first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from qms.compute.engine import Engine
from qms.compute.local import LocalEngine
from qms.errors import QmsError
from qms.validation.dataset import (DICOM_ATTRIBUTES, EntryShape, HeaderRead, LabelRow, excluded, label_columns_of,
                                    label_rows, reader_columns)
from qms.validation.filetable import FileTable, ManifestHead, read_file_table, write_file_table
from qms.validation.manifest import ManifestEntry

__all__ = ["CHUNK", "create_file_table"]

CHUNK = 8_192
"""Rows handed to the engine at once: the driver holds one chunk's rows and results."""


def _rows(path: Path, split: str | None) -> Iterator[LabelRow]:
    return (r for r in label_rows(path) if split is None or r.split == split)


def _entries(deid_dir: Path, labels_csv: Path, split: str | None, shape: EntryShape,
             engine: Engine) -> Iterator[ManifestEntry]:
    read = HeaderRead(deid_dir)
    chunk: list[LabelRow] = []
    for row in _rows(labels_csv, split):
        if row.exclusion:
            continue
        if not row.file:
            raise QmsError("empty 'file' cell", where=f"{labels_csv}:{row.line}")
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield from _chunk(chunk, read, shape, engine, labels_csv)
            chunk = []
    yield from _chunk(chunk, read, shape, engine, labels_csv)


def _chunk(rows: list[LabelRow], read: HeaderRead, shape: EntryShape, engine: Engine,
           labels_csv: Path) -> Iterator[ManifestEntry]:
    facts = {f.file: f for f in engine.map(read, [r.file for r in rows])}
    for row in rows:
        yield shape.entry(row, facts[row.file], f"{labels_csv}:{row.line}")


def create_file_table(
    deid_dir: Path, labels_csv: Path, out: Path, *, split: str | None, name: str, label_columns: Sequence[str],
    description: str = "", engine: Engine | None = None,
) -> FileTable:
    """Hash every listed file of `split` on `engine`, write the manifest as a file table at `out`, open it."""
    columns = label_columns_of(labels_csv)
    if not label_columns:
        raise QmsError("a file table needs its label columns named", where=f"{labels_csv}:1",
                       hint=f"name each with --label; columns: {', '.join(columns)}")
    for label in label_columns:
        if label not in columns:
            raise QmsError(f"label column {label!r} is not in the labels table", where=f"{labels_csv}:1",
                           hint=f"columns: {', '.join(columns)}")
    readers = reader_columns(columns, list(label_columns), labels_csv)
    extra = tuple(c for c in columns if c not in label_columns and c not in readers)
    exclusions = tuple(excluded(deid_dir, r, f"{labels_csv}:{r.line}") for r in _rows(labels_csv, split)
                       if r.exclusion)
    head = ManifestHead(name, split or "all", tuple(label_columns), tuple(sorted(set(DICOM_ATTRIBUTES) | set(extra))),
                        description, exclusions)
    shape = EntryShape(tuple(label_columns), extra, readers)
    write_file_table(out, head, _entries(deid_dir, labels_csv, split, shape, engine or LocalEngine()))
    return read_file_table(out)
