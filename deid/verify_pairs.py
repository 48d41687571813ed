"""Which output `qms deid verify` compares with which source: decided by sorts on disk, never held (issue 17).

An output is paired with the file of IN holding the bytes its manifest entry names (the entry's
input sha256; of several such files, the last in path order) and checked against it; an output
no entry names, or whose source bytes are gone from IN, is checked by the detectors alone (without
a manifest, outputs pair with the file of the same relative path); an entry naming an output that
is not in OUT has its name checked, as the manifest is shared with OUT. OUT's files and IN's are
listed as streams, in path order (`qms.compute.storage`), and joined with the manifest's entries
after external sorts (`qms.deid.sortruns`): memory is one sort run whatever the number of files.
The plan is written to a folder the caller owns before any file is checked, so a manifest that
cannot be read stops verify before it starts; the plan names IN's files, whose names may hold PHI:
the caller's private temporary folder, removed when verify returns.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, groupby, islice
from pathlib import Path
from typing import Any

from qms.compute.storage import Storage
from qms.deid.manifest import JOURNAL, LEGACY_MANIFEST, MANIFEST, read_head, read_legacy, records_with_lines
from qms.deid.options import DeidOptions
from qms.deid.pixels import MaskedRegion
from qms.deid.sortruns import RUN, sorted_records
from qms.errors import QmsError
from qms.hashing import sha256_file

__all__ = ["Check", "Named", "Plan", "plan_checks"]

_HINT = "it is written by `qms deid dicom`; restore it or use a new output folder"
Parts = tuple[str, ...]


@dataclass(frozen=True)
class Check:
    """One output to check: against `source` (None: the detectors alone), with the regions its entry masked."""

    rel: str
    source: Path | None
    regions: tuple[MaskedRegion, ...] = ()


@dataclass(frozen=True)
class Named:
    """A name OUT's manifest records for a file not in OUT (`where`: `files[3].output`), in manifest order."""

    order: tuple[int, int]
    where: str
    name: str


@dataclass(frozen=True)
class Plan:
    """What verify does, spooled in `folder`: the checks in path order, the names to check, the options."""

    folder: Path
    options: DeidOptions
    manifest: str | None
    """The manifest's file name in OUT (None: no manifest)."""

    def checks(self) -> Iterator[Check]:
        return _load(self.folder / "checks.pickle")

    def named(self) -> Iterator[Named]:
        return _load(self.folder / "named.pickle")


class _Spool:
    """Values pickled one after another into a file of the plan (read back by `_load`, only here)."""

    def __init__(self, path: Path) -> None:
        self._f = path.open("wb")

    def put(self, value: Any) -> None:
        pickle.dump(value, self._f, protocol=pickle.HIGHEST_PROTOCOL)

    def close(self) -> None:
        self._f.close()


def _load(path: Path) -> Iterator[Any]:
    with path.open("rb") as f:
        while True:
            try:
                yield pickle.load(f)  # the plan this very verify wrote
            except EOFError:
                return


def _field(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise QmsError(f"the manifest cannot be read: a file entry without its {key!r}", where=where, hint=_HINT)
    return value


def _regions(item: dict[str, Any], where: str) -> tuple[MaskedRegion, ...]:
    try:
        return tuple(MaskedRegion.from_json(r) for r in (item.get("pixels") or {}).get("regions", []))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise QmsError(f"the manifest cannot be read: a masked region is malformed ({exc})", where=where,
                       hint=_HINT) from exc


def _records(out_dir: Path) -> tuple[dict[str, Any], str, Iterator[tuple[str, dict[str, Any]]]] | None:
    """(options, manifest file name, its file and quarantine records each with where it is) or None."""
    head = read_head(out_dir)
    if head is not None:
        path = out_dir / MANIFEST
        lines = ((f"{path}:{n}", item) for n, (item, _) in enumerate(records_with_lines(out_dir), start=1))
        return head.header.options, MANIFEST, lines
    legacy = read_legacy(out_dir)  # schema 1: one document, read whole (migrated by the folder's next batch)
    if legacy is None:
        return None
    path = out_dir / LEGACY_MANIFEST
    items = [(f"{path}, {kind}[{i}]", {**(item if isinstance(item, dict) else {}), "status": status})
             for kind, status in (("files", "done"), ("quarantined", "quarantined"))
             for i, item in enumerate(legacy[kind])]
    return legacy["options"], LEGACY_MANIFEST, iter(items)


def _entries(records: Iterable[tuple[str, dict[str, Any]]],
             named: _Spool) -> Iterator[tuple[tuple[str, int], tuple[str, tuple[MaskedRegion, ...]]]]:
    """The file entries keyed (input sha256, index); quarantined inputs' names (older manifests kept them) go
    straight to `named`."""
    files = quarantined = 0
    for where, item in records:
        status = item.get("status")
        if status == "done":
            output = _field(item, "output", where)
            yield (_field(item, "input_sha256", where), files), (output, _regions(item, where))
            files += 1
        elif status == "quarantined":
            name = item.get("quarantine")
            if isinstance(name, str):
                named.put(Named((1, quarantined), f"quarantined[{quarantined}].quarantine", name))
            quarantined += 1


def _files(folder: Path) -> Iterator[str]:
    """A folder's files in path order; none when it is not a folder."""
    return Storage(str(folder)).files() if folder.is_dir() else iter(())


def _sources(in_dir: Path, folder: Path, run: int) -> Iterator[tuple[str, str]]:
    """(sha256, relative name) of IN's files, one per sha256: the last in path order."""
    folder.mkdir()
    hashed = (((sha256_file(in_dir / rel),), rel) for rel in _files(in_dir))
    for (sha,), group in groupby(sorted_records(hashed, folder, run=run), key=lambda r: r[0]):
        *_, (_, rel) = group
        yield sha, rel


def _with_sources(entries: Iterable[tuple[tuple[str, int], Any]],
                  sources: Iterator[tuple[str, str]]) -> Iterator[tuple[tuple[Parts, int], Any]]:
    """Each entry (in input order) with the relative name of its source in IN (None: none), keyed by output."""
    source = next(sources, None)
    for (sha, index), (output, regions) in entries:
        while source is not None and source[0] < sha:
            source = next(sources, None)
        found = source[1] if source is not None and source[0] == sha else None
        yield (tuple(output.split("/")), index), (output, found, regions)


def _outputs(out_dir: Path) -> Iterator[tuple[Parts, str]]:
    """OUT's files but its manifest and journal, in path order (quarantine is outside OUT: the rest is output)."""
    skip = {MANIFEST, LEGACY_MANIFEST, JOURNAL}
    return ((tuple(rel.split("/")), rel) for rel in _files(out_dir) if rel.rpartition("/")[2] not in skip)


def _join(outputs: Iterator[tuple[Parts, str]], entries: Iterable[tuple[tuple[Parts, int], Any]], in_dir: Path,
          checks: _Spool, named: _Spool) -> None:
    """OUT's files against the entries (both in path order): a check per file, the entry's name where none."""
    out = next(outputs, None)
    for parts, group in groupby(entries, key=lambda r: r[0][0]):
        same = list(group)  # the entries of one output: one, unless a manifest repeats it (the last counts)
        while out is not None and out[0] < parts:
            checks.put(Check(out[1], None))
            out = next(outputs, None)
        if out is not None and out[0] == parts:
            _, source, regions = same[-1][1]
            checks.put(Check(out[1], None) if source is None else Check(out[1], in_dir / source, regions))
            out = next(outputs, None)
        else:
            for (_, index), (output, _, _) in same:
                named.put(Named((0, index), f"files[{index}].output", output))
    while out is not None:
        checks.put(Check(out[1], None))
        out = next(outputs, None)


def plan_checks(out_dir: Path, in_dir: Path, folder: Path, *, run: int = RUN) -> Plan:
    """Pair OUT's files with IN's through OUT's manifest (either schema); `folder`, empty, holds the plan and
    the sort runs (`run` records sorted in memory at once)."""
    found = _records(out_dir)
    checks, named = _Spool(folder / "checks.pickle"), _Spool(folder / "named.pickle")
    try:
        if found is None:  # another tool's output: pair by relative path
            for _, rel in _outputs(out_dir):
                checks.put(Check(rel, in_dir / rel if (in_dir / rel).is_file() else None))
            return Plan(folder, DeidOptions(), None)
        options, manifest, records = found
        by_input, by_output = folder / "by-input", folder / "by-output"
        by_input.mkdir()
        by_output.mkdir()
        entries = sorted_records(_entries(records, named), by_input, run=run)
        first = list(islice(entries, 1))  # the sort reads the whole manifest first: refused before IN is hashed
        paired = _with_sources(chain(first, entries), _sources(in_dir, folder / "sources", run))
        _join(_outputs(out_dir), sorted_records(paired, by_output, run=run), in_dir, checks, named)
        return Plan(folder, DeidOptions.from_config(options), manifest)
    finally:
        checks.close()
        named.close()
