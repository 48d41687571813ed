"""The reference is read from a recorded validation run, its predictions and data files checked against their hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.errors import CheckFailed
from qms.monitor.reference import from_run
from qms.store import Store, open_store
from qms.validation.manifest import DatasetManifest
from tests.validation.runs import lock_and_run
from tests.validation.synthetic import make_project


@pytest.fixture
def run(tmp_path: Path, sqlite_url: str) -> tuple[Store, str, Path]:
    root = tmp_path / "project"
    path = make_project(root, 40)
    store = open_store(sqlite_url)
    return store, str(lock_and_run(store, path, root)["run_id"]), root


def test_reference_holds_the_runs_scores_and_inputs(run: tuple[Store, str, Path]) -> None:
    """Every case's score per label and every validation image's description come from the run."""
    store, run_id, root = run
    reference = from_run(store, run_id, root)
    assert reference.run_id == run_id and reference.labels
    assert all(len(v) == len(reference.inputs) for v in reference.scores.values())
    assert {r["Manufacturer"] for r in reference.inputs} - {None}


def test_a_changed_validation_file_is_refused(run: tuple[Store, str, Path]) -> None:
    """A validation image that no longer has its manifest's sha256 stops the reference, naming the file."""
    store, run_id, root = run
    entry = DatasetManifest.from_file(root / "data" / "manifests" / "test.json").entries[0]
    victim = next(p for p in (root / "data").rglob("*.dcm") if p.as_posix().endswith(entry.file))
    victim.write_bytes(victim.read_bytes() + b"\0")
    with pytest.raises(CheckFailed) as exc:
        from_run(store, run_id, root)
    assert exc.value.where == str(victim)
