"""`qms api`: a token is shown once and stored hashed; `serve` refuses to start with nothing servable, naming why."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlmodel import select

from qms.api.records import ApiClient
from qms.models import registry
from qms.models.stages import Stage, change_stage
from qms.store import open_store
from tests.models.helpers import torch_folder
from tests.validation.runs import project_cli


def test_token_create_shows_the_token_once_and_stores_its_hash(tmp_path: Path, sqlite_url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms api token create --client --model` prints a token whose sha256 is the only thing stored."""
    qms = project_cli(tmp_path, sqlite_url, monkeypatch)
    result = qms("api", "token", "create", "--client", "clinic-a", "--model", "tiny", "--model", "other")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with open_store(sqlite_url).reader() as session:
        row = session.exec(select(ApiClient)).one()
    assert token.startswith("qms_") and row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert row.models == '["other","tiny"]'


def test_serve_refuses_to_start_without_a_production_model(tmp_path: Path, sqlite_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """With only a staged version registered, `qms api serve` serves nothing and exits 1 saying so."""
    qms = project_cli(tmp_path, sqlite_url, monkeypatch)
    store = open_store(sqlite_url)
    registry.register(store, torch_folder(tmp_path / "models" / "tiny"), name="tiny", version="1.0.0", actor="t",
                      root=tmp_path)
    change_stage(store, "tiny@1.0.0", Stage.STAGING, actor="t", reason="test")
    result = qms("api", "serve", "--port", "1")
    assert result.exit_code == 1
    assert "no model version may be served" in result.output
