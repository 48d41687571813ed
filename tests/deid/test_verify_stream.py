"""`qms deid verify` streams the manifest and both folders: the same verdicts, memory flat in the files (issue 17)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms.compute.local import LocalEngine
from qms.deid.manifest import MANIFEST, FileEntry, Header, Journal, QuarantineEntry
from qms.deid.manifest_merge import finalize
from qms.deid.options import DeidOptions
from qms.deid.verify import RESIDUAL_PHI, verify
from qms.deid.verify_pairs import plan_checks
from qms.errors import QmsError
from tests.deid.manifests import manifest_of, write_legacy
from tests.deid.test_cli import _verify_events, qms
from tests.deid.verify_cases import PHI_NAME, absent_entries, mixed_folder

pytestmark = pytest.mark.verifies("QMS-REQ-004")

_HEADER = Header("key-1", DeidOptions().to_json(), "2025b")


def test_verify_tells_every_case_apart_on_any_engine_and_sort_size(tmp_path: Path) -> None:
    """Over a folder with every case (an output that is its source, one whose source is gone, a file and a copied
    source no entry names, an entry whose output is gone and whose name holds PHI), verify counts the compared
    files, names the unpaired ones, and reports the leaks unpaired first, each group by name, the manifest's
    last: the same in this process, in a pool of 2 and with sort runs of 2 records on disk."""
    out, source = mixed_folder(tmp_path)
    report = verify(out, source)
    assert report.files_checked == 11
    assert report.unpaired == ("extra/copied.dcm", "notes.txt", "p0002/s0/i000002.dcm")
    items = [leak.item for leak in report.leaks]
    assert list(dict.fromkeys(items)) == ["extra/copied.dcm", "p0002/s0/i000002.dcm",  # unpaired: detectors alone
                                          "p0000/s0/i000000.dcm", MANIFEST]
    assert sum(leak.check == RESIDUAL_PHI and leak.item == "p0000/s0/i000000.dcm" for leak in report.leaks) > 5
    named = report.leaks[-1]
    index = [f["output"] for f in manifest_of(out)["files"]].index(PHI_NAME)
    assert (named.check, named.where) == (RESIDUAL_PHI, f"files[{index}].output")
    assert verify(out, source, engine=LocalEngine(2)).to_json() == report.to_json()
    assert verify(out, source, run=2).to_json() == report.to_json()


def test_a_schema_1_manifest_gives_the_same_verdicts(tmp_path: Path) -> None:
    """The former one-document manifest pairs the same files; a quarantined copy's name it records (as older
    versions did) is checked after the outputs' names."""
    out, source = mixed_folder(tmp_path)
    streamed = verify(out, source).to_json()
    document = manifest_of(out)
    document["quarantined"].append({"status": "quarantined", "input_sha256": "0" * 64, "quarantine": PHI_NAME,
                                    "reason": "not DICOM", "source": None})
    write_legacy(out, document)
    report = verify(out, source).to_json()
    *same, last = report.pop("leaks")
    assert [{**leak, "item": MANIFEST} if leak["item"] == "deid-manifest.json" else leak for leak in same] \
        == streamed.pop("leaks") and report == streamed
    assert (last["item"], last["where"]) == ("deid-manifest.json", "quarantined[0].quarantine")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _former_pairs(out: Path, source: Path) -> tuple[dict[str, Path | None], list[tuple[str, str]]]:
    """The pairing of verify before issue 17, from the manifest held whole: each of OUT's files with its source
    (None: unpaired), and the (where, name) of the entries whose outputs are not in OUT."""
    document = manifest_of(out)
    outputs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.name != MANIFEST)
    by_sha = {_sha(p.read_bytes()): p for p in sorted(source.rglob("*")) if p.is_file()}
    entries = {e["output"]: e["input_sha256"] for e in document["files"]}
    pairs = {rel: by_sha.get(entries.get(rel, "")) for rel in outputs}
    named = [(f"files[{i}].output", e["output"]) for i, e in enumerate(document["files"]) if e["output"] not in pairs]
    return pairs, named


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inputs=st.lists(st.tuples(st.sampled_from(["a", "a/b", "a.b", "c/d/e"]), st.integers(0, 6)), max_size=25),
       entries=st.lists(st.tuples(st.sampled_from(["x", "y/z", "y.z", "w/v"]), st.integers(0, 12), st.integers(0, 8)),
                        max_size=25),
       extra=st.lists(st.sampled_from(["q", "y/q", "x.q", "w/v/q"]), max_size=4), run=st.integers(2, 8))
def test_the_pairs_are_those_of_the_manifest_held_whole(tmp_path_factory: pytest.TempPathFactory,
                                                         inputs: list[tuple[str, int]],
                                                         entries: list[tuple[str, int, int]], extra: list[str],
                                                         run: int) -> None:
    """Whatever files IN holds (the same bytes at several paths, in nested names that sort differently as paths
    and as strings), whatever outputs the manifest names (some no longer in OUT) and whatever else OUT holds,
    the streamed plan pairs each of OUT's files with the source the former in-memory pairing chose, and names
    the same absent entries."""
    root = tmp_path_factory.mktemp("pairs")
    source, out = root / "in", root / "out"
    for n, (folder, content) in enumerate(inputs):
        (source / folder).mkdir(parents=True, exist_ok=True)
        (source / folder / f"f{n}").write_bytes(b"content %d" % content)
    source.mkdir(exist_ok=True)
    out.mkdir()
    journal = Journal(out, _HEADER)
    for n, (folder, content, kept) in enumerate(entries):
        name = f"{folder}/o{n % 9}"
        journal.append(FileEntry(name, _sha(b"content %d" % content), _sha(name.encode()), "P", None, {}))
        if kept % 3:
            (out / folder).mkdir(parents=True, exist_ok=True)
            (out / name).write_bytes(b"output")
    journal.append(QuarantineEntry(_sha(b"bad"), "", "not DICOM"))
    journal.close()
    finalize(out, _HEADER, {"batch_id": "b"})
    for name in extra:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(b"not named")
    pairs, named = _former_pairs(out, source)
    plan_dir = root / "plan"
    plan_dir.mkdir()
    plan = plan_checks(out, source, plan_dir, run=run)
    assert {c.rel: c.source for c in plan.checks()} == pairs
    assert sorted((n.order, n.where, n.name) for n in plan.named()) == [((0, int(w[6:-8])), w, n) for w, n in named]


def _peak_of_verify(root: Path, absent: int) -> int:
    """Traced peak of verify over the mixed folder whose manifest names `absent` more outputs no longer in OUT,
    their sources still in IN (each hashed, paired by the manifest, its name checked)."""
    out, source = mixed_folder(root)
    absent_entries(out, absent, start=1)
    (source / "gone").mkdir()
    for i in range(1, absent + 1):
        (source / "gone" / f"{i:07d}.bin").write_bytes(b"absent %d" % i)
    verify(out, source, run=256)  # warm: imports, the detectors' tables
    tracemalloc.start()
    try:
        report = verify(out, source, run=256)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.files_checked == 11 and len(report.unpaired) == 3
    return peak


_PEAKS = """
import sys
from pathlib import Path
from tests.deid.test_verify_stream import _peak_of_verify
root = Path(sys.argv[1])
print(_peak_of_verify(root / "small", 300), _peak_of_verify(root / "large", 3_000))
"""


def test_verify_takes_memory_flat_in_the_manifest_and_the_files(tmp_path: Path) -> None:
    """verify over a manifest of 3,000 more entries and 3,000 more source files takes no more traced memory,
    within a generous margin, than over 300 more: one sort run is held, never the manifest, IN's digests or
    OUT's names (holding the 3,000 entries alone, as verify did, is ~4 MB more). Measured in a fresh interpreter:
    tracemalloc counts every thread's allocations, and a test worker may hold others' threads (Ray's: 16.8 MB once)."""
    done = subprocess.run([sys.executable, "-c", _PEAKS, str(tmp_path)], cwd=Path(__file__).resolve().parents[2],
                          capture_output=True, text=True, check=True, timeout=600)
    small, large = map(int, done.stdout.split()[-2:])
    assert large < 1.3 * small + 512 * 1024, (small, large)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("bad", [b"{not json\n", b"[1, 2]\n"])
def test_a_corrupt_manifest_line_is_refused_by_file_and_line_before_any_check(tmp_path: Path, bad: bytes) -> None:
    """A manifest line that is not a JSON object stops verify before a file is checked: the error names the
    manifest and the line's number, and both folders are left as they were."""
    out, source = mixed_folder(tmp_path)
    lines = (out / MANIFEST).read_bytes().splitlines(keepends=True)
    lines[4] = bad
    (out / MANIFEST).write_bytes(b"".join(lines))
    before = _tree(tmp_path)
    with pytest.raises(QmsError, match="the manifest cannot be read") as caught:
        verify(out, source)
    assert caught.value.where == f"{out / MANIFEST}:5"
    assert _tree(tmp_path) == before


def test_the_command_refuses_a_corrupt_manifest_and_records_nothing(project: Path, tmp_path: Path) -> None:
    """`qms deid verify` over a manifest with a corrupt line exits 2 naming the manifest and the line, and records
    no `deid.verify` event."""
    out, source = mixed_folder(tmp_path)
    lines = (out / MANIFEST).read_bytes().splitlines(keepends=True)
    lines[2] = b"{cut sh\n"
    (out / MANIFEST).write_bytes(b"".join(lines))
    code, text = qms("-C", str(project), "deid", "verify", str(out), "--against", str(source))
    assert code == 2 and f"{MANIFEST}:3" in text.replace("\n", "")
    assert _verify_events(project) == []


def test_an_entry_without_its_output_is_refused_by_line(tmp_path: Path) -> None:
    """A file entry whose `output` is missing (a manifest edited and sealed again) is named by its line."""
    out, source = mixed_folder(tmp_path)
    lines = (out / MANIFEST).read_bytes().splitlines(keepends=True)
    number = next(n for n, raw in enumerate(lines, 1) if b'"status":"done"' in raw)
    item = json.loads(lines[number - 1])
    del item["output"]
    lines[number - 1] = json.dumps(item, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    body = b"".join(lines[:-1])
    lines[-1] = json.dumps({"sha256": _sha(body), "status": "seal"}, separators=(",", ":")).encode() + b"\n"
    (out / MANIFEST).write_bytes(body + lines[-1])
    with pytest.raises(QmsError, match="without its 'output'") as caught:
        verify(out, source)
    assert caught.value.where == f"{out / MANIFEST}:{number}"


def test_without_a_manifest_outputs_pair_by_relative_path(tmp_path: Path) -> None:
    """Another tool's output (no manifest): each file is compared with the source of the same relative path."""
    out, source = mixed_folder(tmp_path)
    (out / MANIFEST).unlink()
    report = verify(out, source)
    assert report.unpaired == ("extra/copied.dcm", "notes.txt", "p0002/s0/i000002.dcm")
    assert report.files_checked == 11
    assert {leak.item for leak in report.leaks} == {"extra/copied.dcm", "p0002/s0/i000002.dcm", "p0000/s0/i000000.dcm"}
