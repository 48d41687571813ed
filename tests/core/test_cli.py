"""The `qms` command line: init, store and audit commands, JSON output, exit codes 0/1/2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms import __version__, audit
from qms.cli.main import app
from qms.store import open_store
from qms.store.migrate import head_revisions
from tests.core.tamper import drop_protection, execute

runner = CliRunner()


def qms(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "device"
    code, out = qms("-C", str(root), "init", "--device", "Triage", "--intended-use", "Flags CXR.", "--safety-class", "b")
    assert code == 0, out
    return root


def test_version() -> None:
    """`qms --version` prints the installed version."""
    code, out = qms("--version")
    assert code == 0 and __version__ in out


def test_init_scaffolds_a_project(project: Path) -> None:
    """`qms init` writes the configuration, the folders and the store, and audits the creation, its actor marked as
    unverified when no passphrase proved who ran it."""
    text = (project / "qms.toml").read_text()
    assert 'device = "Triage"' in text and 'safety_class = "B"' in text
    for folder in ("design", "protocols", "tests", ".qms"):
        assert (project / folder).is_dir()
    code, out = qms("-C", str(project), "audit", "log", "--json")
    events = json.loads(out)
    assert code == 0 and [e["action"] for e in events] == ["project.init"]
    assert events[0]["actor"] == "unverified:test.engineer"


def test_init_into_existing_pyproject_appends_tool_qms(tmp_path: Path) -> None:
    """In a folder with a pyproject.toml, init adds [tool.qms] and keeps what was there."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "device"\n')
    code, out = qms("-C", str(tmp_path), "init", "--device", "D")
    assert code == 0, out
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "device"\n') and "[tool.qms]" in text
    assert not (tmp_path / "qms.toml").exists()


def test_init_refuses_to_overwrite(project: Path) -> None:
    """A second init in the same folder exits 2 and changes nothing."""
    before = (project / "qms.toml").read_bytes()
    code, out = qms("-C", str(project), "init")
    assert code == 2 and "already exists" in out
    assert (project / "qms.toml").read_bytes() == before


def test_init_with_bad_safety_class_writes_nothing(tmp_path: Path) -> None:
    """An invalid safety class is a usage error and leaves no files behind."""
    code, out = qms("-C", str(tmp_path / "new"), "init", "--safety-class", "Z")
    assert code == 2 and "safety class" in out
    assert not (tmp_path / "new").exists()


def test_init_with_unreachable_database_writes_nothing(tmp_path: Path) -> None:
    """With an unreachable QMS_DATABASE_URL, init exits 2 and writes no configuration."""
    root = tmp_path / "new"
    code, out = qms("-C", str(root), "init", env={"QMS_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:1/db"})
    assert code == 2 and "cannot reach the database" in out
    assert not root.exists()


def test_malformed_config_exits_2(project: Path) -> None:
    """A command in a project with a malformed configuration exits 2 naming the file and key."""
    (project / "qms.toml").write_text((project / "qms.toml").read_text() + "bogus = 1\n")
    code, out = qms("-C", str(project), "audit", "log")
    assert code == 2 and "unknown key tool.qms.bogus" in out and "qms.toml" in out


def test_missing_project_exits_2_with_json_error(tmp_path: Path) -> None:
    """Without a project, a command exits 2; with --json the error is a JSON document."""
    code, out = qms("-C", str(tmp_path), "audit", "verify", "--json")
    assert code == 2
    payload = json.loads(out[: out.index("}") + 1])
    assert payload["error"] == "ConfigError" and "qms init" in payload["hint"]


def test_newer_store_exits_2(project: Path) -> None:
    """A store from a newer schema makes every command exit 2 and stay untouched."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{project / '.qms' / 'qms.db'}")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version VALUES ('9999_future')"))
    engine.dispose()
    code, out = qms("-C", str(project), "audit", "log")
    assert code == 2 and "newer qmskit" in out


def test_a_checkpoint_goes_where_git_does_not_look_by_default(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --out, run from a folder of the project, the checkpoint is written under the records folder (which git
    ignores), never into the work tree, where `qms verify` would then refuse an uncommitted file."""
    store = open_store(f"sqlite:///{project / '.qms' / 'qms.db'}")
    audit.record(store, audit.EventSpec("alice", "item.create", "item:1"))
    store.dispose()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    (project / "tests").mkdir(exist_ok=True)
    monkeypatch.chdir(project / "tests")
    code, out = qms("audit", "checkpoint", "--json")
    assert code == 0, out
    written = Path(json.loads(out)["file"])
    assert written.parent == project / ".qms" / "checkpoints" and written.is_file()
    assert not list(project.glob("tests/*.json")) and not list(project.glob("*.json"))
    status = subprocess.run(["git", "-C", str(project), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout
    assert ".qms/" not in status


def test_verify_exit_codes_and_checkpoint(project: Path, tmp_path: Path) -> None:
    """verify exits 0 on an intact chain, 1 on a tampered one; a checkpoint catches a truncation."""
    cp = tmp_path / "cp.json"
    store = open_store(f"sqlite:///{project / '.qms' / 'qms.db'}")
    audit.record(store, audit.EventSpec("alice", "item.create", "item:1"))
    store.dispose()
    assert qms("-C", str(project), "audit", "verify")[0] == 0
    code, out = qms("-C", str(project), "audit", "checkpoint", "--out", str(cp))
    assert code == 0 and cp.exists(), out
    code, out = qms("-C", str(project), "audit", "verify", "--against", str(cp), "--json")
    assert code == 0 and json.loads(out)["intact"] is True
    store = open_store(f"sqlite:///{project / '.qms' / 'qms.db'}")
    drop_protection(store)
    execute(store, "DELETE FROM audit_event WHERE seq >= 2")
    store.dispose()
    code, out = qms("-C", str(project), "audit", "verify")  # `audit checkpoint` sealed its event into the log too
    assert code == 1 and "removed" in out
    code, out = qms("-C", str(project), "audit", "verify", "--against", str(cp))
    assert code == 1 and "removed" in out
    store = open_store(f"sqlite:///{project / '.qms' / 'qms.db'}")
    execute(store, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 1")
    store.dispose()
    code, out = qms("-C", str(project), "audit", "verify", "--json")
    assert code == 1 and json.loads(out)["first_break"]["seq"] == 1


def test_checkpoint_with_untrusted_key_exits_1(project: Path, tmp_path: Path) -> None:
    """verify --against with a different trusted key exits 1, naming the untrusted signer."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    cp = tmp_path / "cp.json"
    assert qms("-C", str(project), "audit", "checkpoint", "--out", str(cp))[0] == 0
    other = tmp_path / "other.pub"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    code, out = qms("-C", str(project), "audit", "verify", "--against", str(cp), "--trusted-key", str(other))
    assert code == 1 and "untrusted key" in out


def test_store_migrate_and_info(project: Path) -> None:
    """store migrate reports nothing to do on a current store; info shows identity and audit head."""
    code, out = qms("-C", str(project), "store", "migrate", "--json")
    assert code == 0 and json.loads(out)["applied"] == []
    code, out = qms("-C", str(project), "store", "info", "--json")
    info = json.loads(out)
    assert code == 0 and info["audit_events"] == 1 and set(info["revisions"]) == head_revisions()


def test_usage_error_exits_2() -> None:
    """An unknown command is a usage error (exit 2)."""
    assert qms("audit", "nonsense")[0] == 2


def test_only_the_invoked_command_module_is_loaded() -> None:
    """The entry point loads just the invoked command's module, all of them for help."""
    from qms.cli.main import _selected, command_modules

    assert _selected(["-C", "proj", "audit", "log"]) == ["audit"]
    assert _selected(["--project", "audit", "store", "info"]) == ["store"]
    assert _selected(["--version"]) == []
    assert _selected(["--help"]) is None and _selected([]) is None
    assert _selected(["no-such-command"]) is None
    assert _selected(["verify-signature", "doc.pdf"]) == ["sign"]
    assert {"audit", "init", "store"} <= set(command_modules())


def test_audit_log_is_not_cut_at_80_columns(project: Path) -> None:
    """Piped `qms audit log` without COLUMNS shows long actors and objects whole, however wide the table gets, never cut at 80."""
    store = open_store(f"sqlite:///{project / '.qms' / 'qms.db'}")
    long_object = "protocol:" + "VAL-PERFORMANCE-" * 6 + "001"
    audit.record(store, audit.EventSpec("a.very.long.actor.name@hospital.example", "protocol.lock", long_object))
    store.dispose()
    code, out = qms("-C", str(project), "audit", "log", env={"COLUMNS": None})  # type: ignore[dict-item]
    assert code == 0
    assert long_object in out and "a.very.long.actor.name@hospital.example" in out and "…" not in out


def test_piped_verdict_shows_every_finding_whole(project: Path) -> None:
    """Piped `qms verify` without COLUMNS (a CI log) prints each finding's reason and hint whole, never cut at 80."""
    code, out = qms("-C", str(project), "verify", env={"COLUMNS": None})  # type: ignore[dict-item]
    assert code == 1, out
    assert "…" not in out and max(len(line) for line in out.splitlines()) > 80, out


@pytest.mark.parametrize("argv", [["audit", "log"], ["store", "info"], ["protocol", "show"], ["model", "list"]])
def test_tables_fit_the_width_columns_sets(project: Path, argv: list[str]) -> None:
    """With COLUMNS=80 no line of a listing is wider than 80 characters, and long values fold rather than being cut."""
    store = open_store(f"sqlite:///{project / '.qms' / 'qms.db'}")
    long_object = "protocol:" + "VAL-PERFORMANCE-" * 6 + "001"
    audit.record(store, audit.EventSpec("a.very.long.actor.name@hospital.example", "protocol.lock", long_object))
    store.dispose()
    code, out = qms("-C", str(project), *argv, env={"COLUMNS": "80"})
    assert code == 0, out
    assert out.strip() and max(len(line) for line in out.splitlines()) <= 80, out
    assert "…" not in out
