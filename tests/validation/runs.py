"""Locking and running a synthetic project's protocol, for the tests of what a run records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from qms.cli.main import app
from qms.store import Store
from qms.validation.lock import lock
from qms.validation.protocolparser import read_protocol
from qms.validation.inputs import inputs_for
from qms.validation.run import Predictor, run_protocol
from tests.validation.synthetic import toy_identity, toy_predictor

QMS_TOML = 'device = "Toy"\nintended_use = "testing"\nsafety_class = "B"\n'


def lock_and_run(store: Store, path: Path, root: Path, predictor: Predictor | None = None) -> dict[str, Any]:
    """Lock the project's protocol and run it with the toy predictor (or `predictor`); the recorded result."""
    lock(store, inputs_for(read_protocol(path), root, toy_identity(root)), "test.engineer")
    return run_protocol(store, path, root, "test.engineer", out_dir=root / "runs",
                        predictor=predictor or toy_predictor(), identity=toy_identity(root)).result


def project_cli(root: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`qms -C root ARGS...` on the test database, `root` made a project (its qms.toml written)."""
    (root / "qms.toml").write_text(QMS_TOML)
    monkeypatch.setenv("QMS_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["-C", str(root), *args])
