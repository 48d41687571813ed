"""Secrets (a de-identification key, QMS_HOME's private keys) are never written where `git add -A` would commit them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from qms.home import committed_into

runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "device"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text("private/\n", encoding="utf-8")
    return root


def test_keygen_refuses_a_key_a_commit_would_take(repo: Path) -> None:
    """`qms deid keygen` inside a work tree exits 2 naming the tree, and writes nothing (its help promised it)."""
    result = runner.invoke(app, ["deid", "keygen", str(repo / "deid.key")])
    assert result.exit_code == 2 and "git work tree" in result.output and str(repo) in result.output
    assert not (repo / "deid.key").exists() and not list(repo.glob(".deid.key*"))


def test_keygen_writes_a_key_in_an_ignored_folder_or_outside_every_repository(repo: Path, tmp_path: Path) -> None:
    (repo / "private").mkdir()
    for path in (repo / "private" / "deid.key", tmp_path / "deid.key"):
        assert runner.invoke(app, ["deid", "keygen", str(path)]).exit_code == 0 and path.is_file()


def test_a_qms_home_inside_a_repository_gets_no_ca_key(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms ca init` with QMS_HOME inside the device's work tree exits 2 before a private key is written."""
    home = repo / "home"
    monkeypatch.setenv("QMS_HOME", str(home))
    monkeypatch.setenv("QMS_CA_PASSPHRASE", "ca-passphrase-1")
    result = runner.invoke(app, ["ca", "init", "--organisation", "Example Devices Ltd"])
    assert result.exit_code == 2 and "git work tree" in result.output, result.output
    assert not [p for p in home.rglob("*") if p.is_file() and b"PRIVATE KEY" in p.read_bytes()]


def test_a_path_is_committable_only_inside_a_work_tree_and_not_ignored(repo: Path, tmp_path: Path) -> None:
    assert committed_into(repo / "a" / "b.key") == repo.resolve()
    assert committed_into(repo / "private" / "b.key") is None
    assert committed_into(tmp_path / "elsewhere.key") is None


def test_a_de_identification_key_a_commit_would_take_is_not_used(repo: Path, tmp_path: Path) -> None:
    """A key copied into the work tree is refused where it is read (every de-identifying command loads it so), naming
    the tree; the same key outside, or git-ignored, is used."""
    from qms.deid.keying import DeidKey
    from qms.errors import QmsError

    outside = tmp_path / "deid.key"
    assert runner.invoke(app, ["deid", "keygen", str(outside)]).exit_code == 0
    inside = repo / "deid.key"
    inside.write_bytes(outside.read_bytes())
    with pytest.raises(QmsError, match="git work tree"):
        DeidKey.load(inside)
    (repo / "private").mkdir()
    ignored = repo / "private" / "deid.key"
    ignored.write_bytes(outside.read_bytes())
    assert DeidKey.load(ignored).key_id == DeidKey.load(outside).key_id
