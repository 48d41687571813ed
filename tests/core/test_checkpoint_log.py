"""The checkpoint log: a signed, hash-linked checkpoint after each release-critical event pins every event before it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms import audit, checkpoint, checkpoint_log
from qms.cli.main import app
from qms.errors import CheckFailed, QmsError
from qms.store import Store
from tests.core.tamper import Row, drop_protection, execute, forge


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    """(the checkpoint key in the user's home, the log in the project's records folder)."""
    return tmp_path / "home" / checkpoint.KEY_FILE, tmp_path / "project" / ".qms" / checkpoint_log.LOG_FILE


def _event(store: Store, i: int, action: str = "signature.apply") -> None:
    audit.record(store, audit.EventSpec("alice", action, f"release:1.0:doc-{i}", after="ab" * 32))


def _sealed_chain(store: Store, paths: tuple[Path, Path], events: int = 4) -> None:
    """`events` release-critical events, each followed by its automatic checkpoint."""
    for i in range(events):
        _event(store, i)
        checkpoint_log.seal(store, *paths)


def _verify(store: Store, paths: tuple[Path, Path]) -> audit.ChainReport:
    report, state = checkpoint_log.verify_chain(store, paths[1], checkpoint_log.trusted_key(paths[0]))
    assert state.findings == []
    return report


def test_seal_appends_signed_linked_lines(store: Store, paths: tuple[Path, Path]) -> None:
    """Each seal appends one line naming the chain head, linked to the line before, and the chain verifies against all."""
    _sealed_chain(store, paths, 3)
    lines = [json.loads(line) for line in paths[1].read_text().splitlines()]
    assert [line["checkpoint"]["seq"] for line in lines] == [1, 2, 3]
    assert lines[0]["prev"] == audit.GENESIS and lines[1]["prev"] != lines[2]["prev"]
    report = _verify(store, paths)
    assert report.intact and report.head_seq == 3


def test_deleted_last_event_is_caught(store: Store, paths: tuple[Path, Path]) -> None:
    """Deleting the last event (the one the latest checkpoint names) breaks the chain against the log."""
    _sealed_chain(store, paths)
    drop_protection(store)
    execute(store, "DELETE FROM audit_event WHERE seq = 4")
    brk = _verify(store, paths).first_break
    assert brk is not None and brk.seq == 4 and "removed" in brk.reason


def test_rewritten_event_is_caught(store: Store, paths: tuple[Path, Path]) -> None:
    """Rewriting a checkpointed event and re-hashing the whole chain differs from the signed checkpoints."""
    _sealed_chain(store, paths)
    drop_protection(store)
    forge(store, lambda rows: [r if i != 3 else (r[0], "mallory", *r[2:]) for i, r in enumerate(rows)])
    assert audit.verify(store).intact  # consistent on its own
    brk = _verify(store, paths).first_break
    assert brk is not None and brk.seq == 4 and "rewritten" in brk.reason


def test_inserted_event_is_caught(store: Store, paths: tuple[Path, Path]) -> None:
    """An event inserted before the last checkpoint, with the chain renumbered and re-hashed, is caught."""
    _sealed_chain(store, paths)
    drop_protection(store)

    def insert(rows: list[Row]) -> list[Row]:
        forged: Row = (rows[1][0], "mallory", "user.add", "user:mallory", None, None, "{}")
        return [*rows[:2], forged, *rows[2:]]

    forge(store, insert)
    assert audit.verify(store).intact
    brk = _verify(store, paths).first_break
    assert brk is not None and brk.seq == 3 and "rewritten" in brk.reason


def test_seal_refuses_a_broken_chain(store: Store, paths: tuple[Path, Path]) -> None:
    """No checkpoint is signed over a broken chain: a later seal over a deleted event is refused."""
    _sealed_chain(store, paths, 2)
    drop_protection(store)
    execute(store, "DELETE FROM audit_event WHERE seq = 2")
    lines = paths[1].read_bytes()
    with pytest.raises(CheckFailed, match="broken audit chain"):
        checkpoint_log.seal(store, *paths)
    assert paths[1].read_bytes() == lines


def test_edited_log_line_is_a_finding(store: Store, paths: tuple[Path, Path]) -> None:
    """A log line whose checkpoint was edited fails its signature and is a finding naming the line."""
    _sealed_chain(store, paths, 2)
    lines = paths[1].read_text().splitlines()
    data = json.loads(lines[0])
    data["checkpoint"]["seq"] = 1
    data["checkpoint"]["head_hash"] = "0" * 64
    paths[1].write_text("\n".join([json.dumps(data), lines[1]]) + "\n")
    _, state = checkpoint_log.verify_chain(store, paths[1], checkpoint_log.trusted_key(paths[0]))
    assert [f.item for f in state.findings] == [f"{paths[1]}:1"]


def test_line_removed_from_the_log_is_a_finding(store: Store, paths: tuple[Path, Path]) -> None:
    """Dropping a line from the middle of the log breaks its hash links."""
    _sealed_chain(store, paths, 3)
    lines = paths[1].read_text().splitlines()
    paths[1].write_text("\n".join([lines[0], lines[2]]) + "\n")
    _, state = checkpoint_log.verify_chain(store, paths[1], checkpoint_log.trusted_key(paths[0]))
    assert len(state.findings) == 1 and "does not point at the line before" in state.findings[0].reason


def test_public_key_alone_verifies_the_log(store: Store, paths: tuple[Path, Path]) -> None:
    """A verifier given only the key's public half (CI) verifies the log and the chain against it."""
    _sealed_chain(store, paths, 2)
    paths[0].unlink()
    assert checkpoint_log.public_key_path(paths[0]).is_file()
    assert _verify(store, paths).intact


def test_missing_key_with_a_log_is_a_finding_and_creates_nothing(store: Store, paths: tuple[Path, Path]) -> None:
    """Verifying a log whose key is gone is a finding; the verification never creates a key."""
    _sealed_chain(store, paths, 1)
    paths[0].unlink()
    checkpoint_log.public_key_path(paths[0]).unlink()
    report, state = checkpoint_log.verify_chain(store, paths[1], checkpoint_log.trusted_key(paths[0]))
    assert report.intact and len(state.findings) == 1 and "key" in state.findings[0].reason
    assert not paths[0].exists()


def test_load_key_never_creates(tmp_path: Path) -> None:
    """Loading a checkpoint key that is missing is an error naming the file, and no file appears."""
    path = tmp_path / "home" / checkpoint.KEY_FILE
    with pytest.raises(QmsError) as exc:
        checkpoint.load_key(path)
    assert exc.value.where == str(path) and not path.exists()


def test_audit_verify_against_with_missing_key_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms audit verify --against` with the checkpoint key gone (and its public half, which the command's seal wrote)
    exits 2 naming the key file and creates no key."""
    runner = CliRunner()
    root, home = tmp_path / "device", tmp_path / "home"
    monkeypatch.setenv("QMS_HOME", str(home))
    assert runner.invoke(app, ["-C", str(root), "init", "--device", "D"]).exit_code == 0
    cp = tmp_path / "cp.json"
    assert runner.invoke(app, ["-C", str(root), "audit", "checkpoint", "--out", str(cp)]).exit_code == 0
    os.remove(home / checkpoint.KEY_FILE)
    os.remove(checkpoint_log.public_key_path(home / checkpoint.KEY_FILE))
    result = runner.invoke(app, ["-C", str(root), "audit", "verify", "--against", str(cp)])
    assert result.exit_code == 2 and checkpoint.KEY_FILE in result.output
    assert not (home / checkpoint.KEY_FILE).exists()


def test_audit_verify_uses_the_checkpoint_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms audit verify` pins the chain by the project's checkpoint log: a rewritten chain fails it, naming the event."""
    from qms.config import load_project
    from qms.store import open_store
    from tests.core.tamper import rewrite_chain

    runner = CliRunner()
    root, home = tmp_path / "device", tmp_path / "home"
    monkeypatch.setenv("QMS_HOME", str(home))
    assert runner.invoke(app, ["-C", str(root), "init", "--device", "D"]).exit_code == 0
    project = load_project(root)
    store = open_store(project.database_url())
    _sealed_chain(store, (home / checkpoint.KEY_FILE, project.records_dir / checkpoint_log.LOG_FILE), 2)
    assert runner.invoke(app, ["-C", str(root), "audit", "verify"]).exit_code == 0
    drop_protection(store)
    rewrite_chain(store, "mallory")
    store.dispose()
    result = runner.invoke(app, ["-C", str(root), "audit", "verify", "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["first_break"]["seq"] == 2


def test_seal_refuses_over_an_earlier_line_edited(store: Store, paths: tuple[Path, Path]) -> None:
    """A seal checks only the last line's signature, yet an earlier line edited (here its signature alone) breaks the
    link the next line signs, so the seal is refused and nothing is appended."""
    _sealed_chain(store, paths, 3)
    lines = paths[1].read_text().splitlines()
    data = json.loads(lines[0])
    data["signature"] = data["signature"][::-1]
    paths[1].write_text("\n".join([json.dumps(data, sort_keys=True, separators=(",", ":")), *lines[1:]]) + "\n")
    before = paths[1].read_bytes()
    _event(store, 9)
    with pytest.raises(CheckFailed, match="does not point at the line before"):
        checkpoint_log.seal(store, *paths)
    assert paths[1].read_bytes() == before


def test_seal_refuses_when_the_latest_checkpointed_event_was_rewritten(store: Store, paths: tuple[Path, Path]) -> None:
    """A seal recomputes the chain from the latest checkpoint on: a rewrite of the event it names is refused."""
    _sealed_chain(store, paths, 3)
    drop_protection(store)
    forge(store, lambda rows: [r if i != 2 else (r[0], "mallory", *r[2:]) for i, r in enumerate(rows)])
    _event(store, 9)
    with pytest.raises(CheckFailed, match="broken audit chain"):
        checkpoint_log.seal(store, *paths)


def test_chain_verified_from_a_checkpoint_agrees_with_the_whole(store: Store) -> None:
    """`verify(start=)` ends at the same head as the whole chain, finds an edit after its start, and refuses a start
    whose hash the chain does not hold."""
    for i in range(6):
        _event(store, i)
    whole = audit.verify(store)
    with store.reader() as session:
        third = session.get(audit.AuditEvent, 3)
    assert third is not None
    tail = audit.verify(store, start=(3, third.hash))
    assert (tail.head_seq, tail.head_hash, tail.events, tail.intact) == (whole.head_seq, whole.head_hash, 3, True)
    assert audit.verify(store, start=(3, "0" * 64)).first_break is not None
    drop_protection(store)
    execute(store, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 5")
    brk = audit.verify(store, start=(3, third.hash)).first_break
    assert brk is not None and brk.seq == 5
