"""The de-identification manifest as JSON Lines: sealed, canonical, merged on disk, looked up, flat in memory."""

from __future__ import annotations

import hashlib
import json
import random
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms.audit import log
from qms.deid.keying import DeidKey
from qms.deid.manifest import (JOURNAL, LEGACY_MANIFEST, MANIFEST, FileEntry, Header, Journal, QuarantineEntry,
                               read_document, read_head)
from qms.deid.manifest_lookup import DoneLookup
from qms.deid.manifest_merge import finalize
from qms.deid.options import DeidOptions
from qms.deid import pipeline
from qms.deid.pipeline import run_batch
from qms.deid.verify import verify
from qms.deid.verify_record import verification_details
from qms.errors import QmsError
from qms.store import Store
from tests.deid.manifests import manifest_of, write_legacy

pytestmark = pytest.mark.verifies("QMS-REQ-004")

_HEADER = Header("key-1", {"profile_options": []}, "2025b")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _file(i: int, content: int | None = None, patient: int = 0) -> FileEntry:
    """A synthetic entry: output i, input bytes number `content` (default i), no PHI."""
    c = i if content is None else content
    return FileEntry(f"out/{i:06d}.dcm", _sha(f"in{c}"), _sha(f"out{i}"), f"PSEUDO{patient:04d}", f"1.2.3.{i}",
                     {"D": 3, "X": 1 + i % 3}, None, None, _sha(f"src{i}")[:32])


def _journal(out: Path, entries: list[FileEntry | QuarantineEntry]) -> None:
    journal = Journal(out, _HEADER)
    for entry in entries:
        journal.append(entry)
    journal.close()


def _lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(raw) for raw in (out / MANIFEST).read_bytes().splitlines()]


def test_a_batch_writes_a_sealed_canonical_manifest(tmp_path: Path, tree: Path, key: DeidKey, store: Store) -> None:
    """A batch's manifest is one canonical JSON line per record, its files sorted by input sha256, sealed by the
    sha256 of its lines, which its audit event records; the journal is gone."""
    out = tmp_path / "out"
    report = run_batch(tree, out, key, DeidOptions(), audit=(store, "test.engineer"))
    raw = (out / MANIFEST).read_bytes()
    lines = raw.splitlines(keepends=True)
    records = [json.loads(line) for line in lines]
    assert all(line == json.dumps(r, sort_keys=True, separators=(",", ":")).encode() + b"\n"
               for line, r in zip(lines, records))
    files = [r for r in records if r.get("status") == "done"]
    assert len(files) == report.processed == 12
    assert [(f["input_sha256"], f["output"]) for f in files] == sorted((f["input_sha256"], f["output"]) for f in files)
    assert records[-1] == {"status": "seal", "sha256": hashlib.sha256(b"".join(lines[:-1])).hexdigest()}
    assert records[-2]["files"] == 12 and records[-2]["patients"] == 3
    [event] = log(store, action="deid.batch")
    assert json.loads(event.details)["manifest_sha256"] == records[-1]["sha256"] == event.after_digest
    assert not (out / JOURNAL).exists()


def test_each_result_is_journalled_as_it_arrives(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """While the batch runs, the journal holds a line for every file finished so far (the manifest is written
    only at the end)."""
    out = tmp_path / "out"
    seen: list[int] = []

    def progress(total: int, status: str) -> None:
        if status:
            seen.append(len((out / JOURNAL).read_bytes().splitlines()) - 1)  # less the header
            assert not (out / MANIFEST).exists()

    run_batch(tree, out, key, DeidOptions(), progress=progress)
    assert seen == list(range(1, 13))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 60), run=st.integers(2, 16))
def test_the_merge_is_the_same_whatever_the_completion_order(tmp_path_factory: pytest.TempPathFactory, seed: int,
                                                             size: int, run: int) -> None:
    """The merged manifest has the same bytes whatever order the journal's entries finished in, and whatever the
    size of the sort runs on disk."""
    rng = random.Random(seed)
    entries: list[FileEntry | QuarantineEntry] = [_file(i, rng.randrange(size), rng.randrange(5)) for i in range(size)]
    entries += [QuarantineEntry(_sha(f"bad{i}"), "", "not DICOM", _sha(f"badsrc{i}")[:32]) for i in range(size // 4)]
    outputs = []
    for order in range(2):
        out = tmp_path_factory.mktemp("merge") / "out"
        out.mkdir()
        shuffled = entries[:]
        random.Random(seed + order).shuffle(shuffled)
        _journal(out, shuffled)
        finalize(out, _HEADER, {"batch_id": "b1"}, run=run if order else 10**6)
        outputs.append((out / MANIFEST).read_bytes())
    assert outputs[0] == outputs[1]


def test_a_later_record_replaces_an_earlier_one(tmp_path: Path) -> None:
    """Over batches, a redone output replaces its entry, and an input quarantined then de-identified is no
    longer listed as quarantined (and the other way round)."""
    out = tmp_path / "out"
    out.mkdir()
    bad = QuarantineEntry(_file(1).input_sha256, "", "truncated", None)
    _journal(out, [_file(0), bad, QuarantineEntry(_sha("stays"), "", "not DICOM", None)])
    finalize(out, _HEADER, {"batch_id": "b1"})
    redone = FileEntry(_file(0).output, _file(0).input_sha256, _sha("new bytes"), "PSEUDO0001", None, {"D": 1})
    _journal(out, [redone, _file(1)])
    finalize(out, _HEADER, {"batch_id": "b2"})
    document = manifest_of(out)
    assert [f["output_sha256"] for f in document["files"] if f["output"] == redone.output] == [_sha("new bytes")]
    assert [q["input_sha256"] for q in document["quarantined"]] == [_sha("stays")]
    assert [b["batch_id"] for b in document["batches"]] == ["b1", "b2"]
    assert document["patients"] == 2 and document["actions"] == {"D": 4, "X": 2}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contents=st.lists(st.integers(0, 30), min_size=1, max_size=80))
def test_the_lookup_finds_every_entry_of_an_input(tmp_path_factory: pytest.TempPathFactory,
                                                  contents: list[int]) -> None:
    """Looking an input's sha256 up in the manifest by binary search gives every entry of that input (the same
    bytes at several paths give several), and nothing for an input it does not hold."""
    out = tmp_path_factory.mktemp("lookup") / "out"
    out.mkdir()
    entries = [_file(i, c) for i, c in enumerate(contents)]
    _journal(out, [*entries, QuarantineEntry(_sha("in0"), "", "x", None)])
    finalize(out, _HEADER, {"batch_id": "b"})
    lookup = DoneLookup(out / MANIFEST)
    for c in range(32):
        expected = sorted((e for e in entries if e.input_sha256 == _sha(f"in{c}")), key=lambda e: e.output)
        assert list(lookup.get(_sha(f"in{c}"))) == expected
    assert DoneLookup(None).get(_sha("in0")) == ()


def _peak_of_merge(tmp: Path, files: int) -> int:
    out = tmp / f"out{files}"
    out.mkdir()
    _journal(out, [_file(i, patient=i) for i in range(files)])
    tracemalloc.start()
    try:
        finalize(out, _HEADER, {"batch_id": "b"}, run=256)
        lookup = DoneLookup(out / MANIFEST)
        assert all(len(lookup.get(_sha(f"in{i}"))) == 1 for i in range(0, files, 97))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_merging_and_looking_up_take_memory_flat_in_the_files(tmp_path: Path) -> None:
    """Writing the manifest of 8,000 files and looking files up in it takes no more traced memory, within a
    generous margin, than for 2,000: one sort run is held, never the manifest (which would be ~2 MB more)."""
    small, large = _peak_of_merge(tmp_path, 2_000), _peak_of_merge(tmp_path, 8_000)
    assert large < 1.5 * small + 256 * 1024, (small, large)


def test_a_schema_1_manifest_is_read_then_migrated_with_an_event(tmp_path: Path, tree: Path, key: DeidKey,
                                                                   store: Store) -> None:
    """A folder holding the former one-document manifest is verified as it is; the next batch skips what it
    records, rewrites it as JSON Lines naming the old digest, and records a `deid.manifest.migrate` event."""
    out = tmp_path / "out"
    run_batch(tree, out, key, DeidOptions())
    write_legacy(out, manifest_of(out))
    legacy = read_document(out)
    assert legacy is not None and legacy["file"] == LEGACY_MANIFEST and not (out / MANIFEST).exists()
    assert verify(out, tree).clean
    assert verification_details(out, verify(out, tree))["manifest_sha256"] == legacy["sha256"]
    report = run_batch(tree, out, key, DeidOptions(), audit=(store, "test.engineer"))
    assert (report.processed, report.skipped) == (0, 12)
    head = read_head(out)
    assert head is not None and head.header.migrated_from == legacy["sha256"] and not (out / LEGACY_MANIFEST).exists()
    assert len(manifest_of(out)["files"]) == 12 and len(head.batches) == 2
    [event] = log(store, action="deid.manifest.migrate")
    details = json.loads(event.details)
    assert event.before_digest == details["from_sha256"] == legacy["sha256"]
    assert event.after_digest == details["manifest_sha256"] and details["files"] == 12  # before this batch's own


def test_a_changed_manifest_is_refused(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """A manifest whose lines no longer match its seal is refused, by verify and by the next batch."""
    out = tmp_path / "out"
    run_batch(tree, out, key, DeidOptions())
    text = (out / MANIFEST).read_text()
    (out / MANIFEST).write_text(text.replace('"patient":"', '"patient":"X', 1))
    with pytest.raises(QmsError, match="do not match its seal"):
        verify(out, tree)
    with pytest.raises(QmsError, match="do not match its seal"):
        run_batch(tree, out, key, DeidOptions())


@pytest.mark.parametrize("workers", [1, 2])
def test_a_batch_longer_than_a_chunk_does_every_file_once(tmp_path: Path, tree: Path, key: DeidKey,
                                                          monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """Handed to the engine in chunks (here of 5 names), the input's files are each de-identified once, and
    the manifest is the one a single chunk gives."""
    whole = tmp_path / "whole"
    run_batch(tree, whole, key, DeidOptions())
    monkeypatch.setattr(pipeline, "CHUNK", 5)
    out = tmp_path / "out"
    report = run_batch(tree, out, key, DeidOptions(), workers=workers)
    assert (report.processed, report.skipped) == (12, 0)
    assert manifest_of(out)["files"] == manifest_of(whole)["files"]
