"""De-identification on Ray: the same bytes as locally; a lost worker or driver loses and duplicates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.compute.local import LocalEngine
from qms.compute.ray_engine import RayEngine
from qms.deid.keying import DeidKey
from qms.deid.manifest import JOURNAL, MANIFEST
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.synthetic import write_synthetic_tree
from qms.deid.verify import verify
from qms.hashing import sha256_file
from tests.compute.crash import CrashingEngine
from tests.deid.manifests import manifest_of
from tests.deid.verify_cases import mixed_folder

pytestmark = [pytest.mark.verifies("QMS-REQ-004"), pytest.mark.xdist_group("ray")]

_KEY = DeidKey(bytes(range(32)))


class _DriverLost(Exception):
    """Raised from the progress callback: the driver stops mid-batch, as a killed one would."""


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 synthetic files over 4 patients, one truncated and one not DICOM (both quarantined)."""
    root = tmp_path_factory.mktemp("deid-ray") / "in"
    paths = write_synthetic_tree(root, 40, patients=4)
    (root / "bad").mkdir()
    (root / "bad" / "truncated.dcm").write_bytes(paths[0].read_bytes()[:300])
    (root / "bad" / "text.dcm").write_bytes(b"synthetic text, not DICOM\n" * 8)
    return root


@pytest.fixture(scope="module")
def local_out(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    run_batch(source, out, _KEY, DeidOptions(), engine=LocalEngine(1))
    return out


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


def _canonical_lines(out: Path) -> list[bytes]:
    """The manifest's lines but its batches (their engine and times) and its seal: entries, header, totals."""
    return [raw for raw in (out / MANIFEST).read_bytes().splitlines()
            if b'"status":"batch"' not in raw and b'"status":"seal"' not in raw]


def _entries(out: Path) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    data = manifest_of(out)
    return data["files"], data["quarantined"]


def test_ray_output_is_byte_identical_to_the_local_engine(source: Path, local_out: Path, tmp_path: Path,
                                                          ray_engine: RayEngine) -> None:
    """With the same key, Ray writes the same files, byte for byte, the same manifest entries and the same quarantine."""
    out = tmp_path / "out"
    report = run_batch(source, out, _KEY, DeidOptions(), engine=ray_engine)
    assert report.processed == 40 and len(report.quarantined) == 2
    assert _tree(out) == _tree(local_out)
    assert _entries(out) == _entries(local_out)
    assert _canonical_lines(out) == _canonical_lines(local_out)  # the same bytes, whatever order files finished in
    assert _tree(default_quarantine_of(out)) == _tree(default_quarantine_of(local_out))
    batch = manifest_of(out)["batches"][0]
    assert (batch["engine"], batch["workers"]) == ("ray", 2)
    assert not (out / JOURNAL).exists()


def default_quarantine_of(out: Path) -> Path:
    return out.with_name(out.name + ".quarantine")


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(source: Path, local_out: Path, tmp_path: Path,
                                                                ray_engine: RayEngine) -> None:
    """A Ray worker that dies on a file mid-block has its block run again: every file once, whole, as locally."""
    out = tmp_path / "out"
    crashing = CrashingEngine(ray_engine, "p0002/s0/i000002.dcm", tmp_path / "crash-once")
    report = run_batch(source, out, _KEY, DeidOptions(), engine=crashing)
    assert not crashing.marker.exists()  # the worker did die once
    assert report.processed == 40 and report.skipped == 0 and len(report.quarantined) == 2
    files, _ = _entries(out)
    assert len({f["output"] for f in files}) == len(files) == 40  # type: ignore[index]
    assert _tree(out) == _tree(local_out)


def test_a_lost_driver_resumes_from_the_journal(source: Path, local_out: Path, tmp_path: Path,
                                                ray_engine: RayEngine) -> None:
    """A driver lost mid-batch leaves its journal; the next run skips the files it recorded and ends as locally."""
    out = tmp_path / "out"
    seen: list[str] = []

    def stop_after_ten(total: int, status: str) -> None:
        if status:
            seen.append(status)
            if len(seen) == 10:
                raise _DriverLost

    with pytest.raises(_DriverLost):
        run_batch(source, out, _KEY, DeidOptions(), engine=ray_engine, progress=stop_after_ten)
    assert (out / JOURNAL).is_file() and not (out / MANIFEST).exists()
    report = run_batch(source, out, _KEY, DeidOptions(), engine=ray_engine)
    done_before = sum(1 for s in seen if s == "done")
    assert report.skipped == done_before and report.processed == 40 - done_before
    assert _tree(out) == _tree(local_out)
    assert _entries(out) == _entries(local_out)


def test_verify_on_ray_reports_as_locally(source: Path, local_out: Path, ray_engine: RayEngine) -> None:
    """Residual-PHI verification on Ray checks the same files and reports the same findings, in the same order."""
    local = verify(local_out, source)
    on_ray = verify(local_out, source, engine=ray_engine)
    assert on_ray == local and on_ray.files_checked == 40


def test_verify_on_ray_tells_every_case_apart_as_locally(tmp_path: Path, ray_engine: RayEngine) -> None:
    """Over a folder with every case verify tells apart (unpaired outputs, a source gone, an output that is its
    source, an entry whose output is gone), verify streamed to Ray's workers gives this process's report."""
    out, source = mixed_folder(tmp_path)
    local = verify(out, source)
    assert verify(out, source, engine=ray_engine) == local and local.files_checked == 11 and not local.clean
