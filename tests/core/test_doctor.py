"""`qms doctor` names each problem of configuration, store and keys with its fix, and passes a sound project."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app

runner = CliRunner()


def _doctor(root: Path, home: Path) -> tuple[int, dict[str, dict[str, object]]]:
    result = runner.invoke(app, ["-C", str(root), "doctor", "--json"], env={"QMS_DATABASE_URL": "", "QMS_HOME": str(home)})
    return result.exit_code, {a["area"]: a for a in json.loads(result.output)}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "device"
    result = runner.invoke(app, ["-C", str(root), "init"], env={"QMS_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    return root


def test_a_fresh_project_has_sound_configuration_store_and_keys(root: Path, tmp_path: Path) -> None:
    """Right after `qms init` the configuration, the store and the keys areas pass (no trusted CA is only a warning)."""
    _, areas = _doctor(root, tmp_path / "home")
    assert areas["configuration"]["ok"] and areas["record store"]["ok"] and areas["keys"]["ok"]
    assert {"installation", "system tools"} <= set(areas)


def test_a_broken_plan_a_missing_store_and_a_readable_key_are_each_named_with_a_fix(root: Path, tmp_path: Path) -> None:
    """A release plan with an unknown key, a store that is not there and a key others can read each fail their area with the fix."""
    (root / "release-plan.yaml").write_text("version: 1\nmodel: m@1\nsignatures: {}\nbogus: 1\n", encoding="utf-8")
    for name in os.listdir(root / ".qms"):
        if name.startswith("qms.db"):
            (root / ".qms" / name).unlink()
    key = tmp_path / "home" / "users" / "alice" / "0123.key.pem"
    key.parent.mkdir(parents=True)
    key.write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\n", encoding="utf-8")
    key.chmod(0o644)
    code, areas = _doctor(root, tmp_path / "home")
    assert code == 1
    [plan] = areas["configuration"]["findings"]  # type: ignore[misc]
    assert "unknown key(s) bogus" in plan["reason"] and "allowed" in plan["hint"]
    [store] = areas["record store"]["findings"]  # type: ignore[misc]
    assert store["reason"] == "no record store here yet" and "qms store migrate" in store["hint"]
    assert any(f["hint"] == f"chmod 600 {key}" for f in areas["keys"]["findings"])  # type: ignore[attr-defined]


def test_a_readable_public_key_is_not_flagged_but_a_private_one_beside_it_is(root: Path, tmp_path: Path) -> None:
    """A world-readable checkpoint-key.pub.pem (BEGIN PUBLIC KEY) passes the keys area; its private key at mode 644 fails."""
    home = tmp_path / "home"
    home.mkdir()
    public = home / "checkpoint-key.pub.pem"
    public.write_text("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n", encoding="utf-8")
    public.chmod(0o644)
    _, areas = _doctor(root, home)
    assert areas["keys"]["ok"], areas["keys"]
    private = home / "checkpoint-key.pem"
    private.write_text("-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n-----END PRIVATE KEY-----\n", encoding="utf-8")
    private.chmod(0o644)
    _, areas = _doctor(root, home)
    assert [f["item"] for f in areas["keys"]["findings"] if f["severity"] != "warning"] == [str(private)]  # type: ignore[attr-defined]
