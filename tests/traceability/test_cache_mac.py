"""The trace caches `qms verify` reuses are tagged under QMS_HOME's evidence cache key: one rewritten in the records
folder by someone without the key (a report without its gaps, a design entry without an item) is rebuilt, never used."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.traceability.trace_helpers import NEED, git_commit, requirement, write_project
from qms.cli.main import app
from qms.home import qms_home
from qms.store import Store
from qms.traceability import matrix, trace
from qms.traceability.cache import REPORT_NAME, read_report, write_report
from qms.traceability.cachetag import home_key, read_json, write_json
from qms.traceability.design import CACHE_NAME
from qms.traceability.findings import Check
from qms.traceability.report import TraceReport

KEY = bytes(range(32))


def _untested(project_dir: Path) -> Path:
    """A committed project whose one requirement no test verifies (a gap the gate blocks on)."""
    write_project(project_dir, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    git_commit(project_dir)
    return project_dir


def _no_test(gaps: tuple[object, ...]) -> bool:
    return any(getattr(g, "check", None) == Check.NO_TEST and getattr(g, "item", None) == "REQ-001" for g in gaps)


def test_a_report_rewritten_without_its_gaps_and_the_key_is_rebuilt(project_dir: Path, store: Store,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The forge_trace attack: the report as written, under its own cache key, gaps removed, tagged without the key."""
    from qms.config import load_project

    project = load_project(_untested(project_dir))
    written: list[tuple[Path, str, TraceReport]] = []
    monkeypatch.setattr(matrix, "write_report", lambda path, key, report, mac_key: written.append((path, key, report)))
    real = trace(project, store, mac_key=KEY)
    monkeypatch.undo()
    assert _no_test(real.gaps)
    path, key, report = written[0]
    forged = dataclasses.replace(report, gaps=report.gaps[:len(report.design.findings)])  # the design's own stay
    write_report(path, key, forged, None)
    assert not _no_test(trace(project, store).gaps)  # without the key the forgery is used: the test can fail
    write_report(path, key, forged, None)
    assert trace(project, store, mac_key=KEY) == real
    assert read_report(path, key, KEY) is not None  # rebuilt under the key, and served from it next time


def test_a_design_entry_forged_without_the_key_is_parsed_again(project_dir: Path, store: Store) -> None:
    """A design cache entry of the file's very digest, its requirement removed, does not hide the requirement."""
    from qms.config import load_project

    project = load_project(_untested(project_dir))
    assert _no_test(trace(project, store, mac_key=KEY).gaps)
    cache = project.records_dir / "cache"
    design = read_json(cache / CACHE_NAME, KEY)
    design["files"]["design/r.yaml"]["items"] = []
    for name in (REPORT_NAME, "suspect-tests.json", "results.json"):
        (cache / name).unlink(missing_ok=True)
    write_json(cache / CACHE_NAME, json.dumps(design).encode(), None)
    assert not _no_test(trace(project, store).gaps)  # without the key the forgery is used: the test can fail
    assert _no_test(trace(project, store, mac_key=KEY).gaps)


def test_a_tagged_json_cache_reads_only_under_its_key(tmp_path: Path) -> None:
    """The key it was written under reads it back; no key, another key, a flipped byte or a cut file read nothing."""
    path = tmp_path / "c.json"
    write_json(path, b'{"a": 1}', KEY)
    assert read_json(path, KEY) == {"a": 1}
    assert read_json(path, None) is None and read_json(path, bytes(32)) is None
    data = path.read_bytes()
    for bad in (data[:-1], data[:3], bytes([data[0] ^ 1]) + data[1:]):
        path.write_bytes(bad)
        assert read_json(path, KEY) is None
    assert read_json(tmp_path / "missing.json", KEY) is None


def test_qms_trace_writes_the_caches_qms_verify_reuses(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms trace` tags its caches under QMS_HOME's key, as the gate does, so the gate's trace reuses the report it
    wrote instead of rebuilding it (and the gate's report is the same)."""
    from qms.config import load_project
    from qms.store import open_store

    project = load_project(_untested(project_dir))
    runner = CliRunner()
    assert runner.invoke(app, ["-C", str(project_dir), "store", "migrate"]).exit_code == 0
    shown = runner.invoke(app, ["-C", str(project_dir), "trace", "--json"])
    assert shown.exit_code == 1 and "REQ-001" in shown.output
    key = home_key(qms_home())
    assert key is not None and (qms_home() / "evidence-cache.key").is_file()
    rebuilt: list[object] = []
    monkeypatch.setattr(matrix, "write_report", lambda *args: rebuilt.append(args))
    store = open_store(project.database_url(), create=False)
    try:
        report = trace(project, store, mac_key=key)
    finally:
        store.dispose()
    assert rebuilt == [] and _no_test(report.gaps)


def test_no_home_folder_means_no_key(tmp_path: Path) -> None:
    """Without a QMS_HOME folder there is no keyed cache (and nothing is created); with one, the key is made once."""
    assert home_key(tmp_path / "absent") is None and not (tmp_path / "absent").exists()
    made = home_key(tmp_path)
    assert made is not None and home_key(tmp_path) == made
