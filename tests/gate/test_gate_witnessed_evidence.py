"""Evidence events must lie in a range a signed checkpoint line witnesses: a `test.run` (or any evidence event)
appended with write access to the store alone is a finding, even after an honest command seals later."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms import audit, checkpoint, checkpoint_log
from qms.cli.main import app
from qms.gate import coverage
from qms.store import Store

HOME_KEY = checkpoint.KEY_FILE


def _forge(store: Store, action: str = "test.run") -> int:
    """What the attacker does: a correctly hashed event, appended without any key."""
    return audit.record(store, audit.EventSpec("ci", action, "test-run:forged", after="d" * 64)).seq


def _findings(store: Store, records: Path, home: Path) -> list[str]:
    found = coverage.check(store, records, checkpoint_log.trusted_key(home / HOME_KEY)).findings
    return [f"{f.where} {f.reason}" for f in found]


def test_a_forged_evidence_event_after_the_last_checkpoint_is_a_finding(store: Store, tmp_path: Path) -> None:
    """Sealed history passes; a test.run appended after it is named by seq and kind, with the re-run hint."""
    home, records = tmp_path / "home", tmp_path / "records"
    audit.record(store, audit.EventSpec("ci", "validation.run", "validation:1"))
    checkpoint_log.seal(store, home / HOME_KEY, records / checkpoint_log.LOG_FILE)
    assert _findings(store, records, home) == []
    seq = _forge(store)
    [finding] = coverage.check(store, records, checkpoint_log.trusted_key(home / HOME_KEY)).findings
    assert finding.where == f"audit event {seq}" and f"audit event {seq} (test.run)" in finding.reason
    assert "witnessed by no signed checkpoint" in finding.reason and "re-run `qms test`" in finding.hint


@pytest.mark.parametrize("action", ["test.run", "validation.run", "trace.review", "trace.review-test", "protocol.lock",
                                    "model.register", "model.train"])
def test_an_honest_command_sealing_after_a_forgery_does_not_witness_it(store: Store, tmp_path: Path, action: str) -> None:
    """A command's seal names its first event (`from`): the forged event before it stays in no witnessed range."""
    home, records = tmp_path / "home", tmp_path / "records"
    checkpoint_log.seal(store, home / HOME_KEY, records / checkpoint_log.LOG_FILE)
    forged = _forge(store, action)
    checkpoint_log.attach(store, home, records)  # the honest command opens the store after the forgery
    honest = audit.record(store, audit.EventSpec("ci", "test.run", "test-run:honest")).seq
    checkpoint_log.after_recording(store)
    assert [f.split(" ", 3)[:3] for f in _findings(store, records, home)] == [["audit", "event", str(forged)]]
    assert checkpoint_log.read(records / checkpoint_log.LOG_FILE, store.store_id, None).latest is None  # no key: none
    state = checkpoint_log.read(records / checkpoint_log.LOG_FILE, store.store_id,
                                checkpoint_log.trusted_key(home / HOME_KEY))
    assert state.witnesses(honest) and not state.witnesses(forged)


def test_a_line_without_from_witnesses_all_before_it(store: Store, tmp_path: Path) -> None:
    """Old lines (and a release's or an operator's seal) witness the whole chain up to them, as coverage did before."""
    home, records = tmp_path / "home", tmp_path / "records"
    _forge(store)
    checkpoint_log.seal(store, home / HOME_KEY, records / checkpoint_log.LOG_FILE)
    assert _findings(store, records, home) == []


def test_a_from_edited_into_a_line_breaks_its_signature(store: Store, tmp_path: Path) -> None:
    """The range is signed: widening a line's `from` to cover a forged event makes the line invalid."""
    home, records = tmp_path / "home", tmp_path / "records"
    log = records / checkpoint_log.LOG_FILE
    forged = _forge(store)
    checkpoint_log.attach(store, home, records)
    audit.record(store, audit.EventSpec("ci", "test.run", "test-run:honest"))
    checkpoint_log.after_recording(store)
    line = json.loads(log.read_bytes())
    log.write_text(json.dumps({**line, "from": forged}) + "\n")
    assert any("signature is not valid" in f for f in _findings(store, records, home))


def test_the_cli_seals_what_a_command_recorded_and_not_a_forgery_before_it(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: `qms audit verify` fails over a forged test.run, and still does after another command sealed."""
    from qms.config import load_project
    from qms.store import open_store

    runner = CliRunner()
    root, home = tmp_path / "device", tmp_path / "home"
    monkeypatch.setenv("QMS_HOME", str(home))
    assert runner.invoke(app, ["-C", str(root), "init", "--device", "D"]).exit_code == 0
    assert runner.invoke(app, ["-C", str(root), "audit", "checkpoint", "--out", str(tmp_path / "cp.json")]).exit_code == 0
    project = load_project(root)
    log = project.records_dir / checkpoint_log.LOG_FILE
    assert [json.loads(line).get("from") for line in log.read_text().splitlines()][-1] is not None  # sealed at its end
    assert runner.invoke(app, ["-C", str(root), "audit", "verify"]).exit_code == 0
    store = open_store(project.database_url())
    seq = _forge(store)
    store.dispose()
    for _ in range(2):
        result = runner.invoke(app, ["-C", str(root), "audit", "verify"])
        assert result.exit_code == 1 and f"audit event {seq} (test.run)" in result.output
        assert runner.invoke(app, ["-C", str(root), "audit", "checkpoint", "--out", str(tmp_path / "cp.json")]).exit_code == 0
