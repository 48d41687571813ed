"""Locking and running a synthetic project's protocol, for the tests of what a run records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qms.store import Store
from qms.validation.lock import lock
from qms.validation.protocol import Protocol
from qms.validation.run import Predictor, inputs_for, run_protocol
from tests.validation.synthetic import toy_identity, toy_predictor


def lock_and_run(store: Store, path: Path, root: Path, predictor: Predictor | None = None) -> dict[str, Any]:
    """Lock the project's protocol and run it with the toy predictor (or `predictor`); the recorded result."""
    lock(store, inputs_for(Protocol.from_file(path), root, toy_identity(root)), "test.engineer")
    return run_protocol(store, path, root, "test.engineer", out_dir=root / "runs",
                        predictor=predictor or toy_predictor(), identity=toy_identity(root)).result
