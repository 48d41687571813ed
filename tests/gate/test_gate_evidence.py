"""The gate re-hashes the evidence: model files against the registry, locked protocols, dataset files against manifests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qms.config import load_project
from qms.gate.checks.evidence import EvidenceIntact
from qms.gate.context import GateContext
from qms.models import registry
from qms.release_plan import ReleasePlan
from qms.store import Store
from qms.validation.lock import lock
from qms.validation.manifest import DatasetManifest
from qms.validation.protocolparser import read_protocol
from qms.validation.run import inputs_for
from tests.models.helpers import torch_folder
from tests.validation.runs import QMS_TOML
from tests.validation.synthetic import make_project, toy_identity

MODEL = "tiny@1.0"


@pytest.fixture
def project_root(tmp_path: Path, store: Store) -> Path:
    """A project with a registered model, a locked protocol, its manifests and de-identified test images."""
    root = tmp_path / "proj"
    protocol = make_project(root, 12)
    (root / "qms.toml").write_text(QMS_TOML)
    registry.register(store, torch_folder(root / "models" / "tiny"), name="tiny", version="1.0", actor="alice", root=root)
    lock(store, inputs_for(read_protocol(protocol), root, toy_identity(root)), "alice")
    return root


def _ctx(root: Path, store: Store) -> GateContext:
    plan = ReleasePlan(source="release.yaml", version="1.0.0", model=MODEL, protocols=("VAL-T",),
                       signers={"author": ("alice",), "reviewer": ("bob",), "approver": ("carol",)},
                       anomaly_threshold="minor", soup_file="soup.yaml", anomaly_file="anomalies.yaml", references={})
    return GateContext(load_project(root), store, plan)


def _reasons(root: Path, store: Store) -> list[str]:
    outcome = EvidenceIntact().evaluate(_ctx(root, store))
    return [f"{f.item}: {f.reason}" for f in outcome.findings]


def test_untouched_evidence_passes(project_root: Path, store: Store) -> None:
    """Model, protocol and dataset files exactly as recorded pass, and a second (cached) check agrees."""
    assert _reasons(project_root, store) == []
    assert _reasons(project_root, store) == []


def test_model_location_is_project_relative(project_root: Path, store: Store) -> None:
    """The registry records a model folder inside the project relative to the project, so a moved project reads its own files."""
    assert registry.get(store, MODEL).location == "models/tiny"
    moved = project_root.with_name("moved")
    shutil.move(project_root, moved)
    reasons = _reasons(moved, store)  # the model and the dataset are found; the lock names the protocol file as given
    assert len(reasons) == 1 and reasons[0].startswith("protocol:VAL-T@1.0: the locked protocol file") and "cannot be read" in reasons[0]


def test_old_absolute_model_location_is_still_read(project_root: Path, store: Store, tmp_path: Path) -> None:
    """A version registered with an absolute path before relative paths existed is still found and re-hashed."""
    folder = torch_folder(tmp_path / "elsewhere", seed=3)
    registry.register(store, folder, name="old", version="1", actor="alice", root=project_root)
    assert registry.get(store, "old@1").location == str(folder.resolve())
    registry.load(store, "old@1")


def test_flipped_byte_in_weights_fails(project_root: Path, store: Store) -> None:
    """One flipped byte in the registered weights is a finding naming the model and the file, before any signature."""
    weights = project_root / "models" / "tiny" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    reasons = _reasons(project_root, store)
    assert len(reasons) == 1 and reasons[0].startswith(f"model:{MODEL}: model file") and "model.safetensors" in reasons[0]


def test_extra_file_in_model_folder_fails(project_root: Path, store: Store) -> None:
    """A file added to the registered model folder is a finding."""
    (project_root / "models" / "tiny" / "extra.bin").write_bytes(b"x")
    assert any("extra.bin is not part of the registered version" in r for r in _reasons(project_root, store))


def test_committed_protocol_edit_fails(project_root: Path, store: Store) -> None:
    """A locked protocol file whose text changed after the lock (committed or not) is a finding naming the protocol."""
    path = project_root / "protocols" / "p.yaml"
    path.write_text(path.read_text() + "# tightened after seeing the results\n")
    reasons = _reasons(project_root, store)
    assert len(reasons) == 1 and reasons[0].startswith("protocol:VAL-T@1.0: the locked protocol file")


def test_edited_test_image_fails(project_root: Path, store: Store) -> None:
    """A de-identified test image edited after its dataset manifest was made is a finding naming the file."""
    manifest = DatasetManifest.from_json(json.loads((project_root / "data" / "manifests" / "test.json").read_text()), "m")
    image = project_root / "data" / "deid" / manifest.entries[0].file
    assert image.is_file()
    _reasons(project_root, store)  # the digest is cached now; the edit must still be seen
    data = bytearray(image.read_bytes())
    data[-1] ^= 0xFF
    image.write_bytes(bytes(data))
    reasons = _reasons(project_root, store)
    assert len(reasons) == 1 and "dataset file" in reasons[0] and manifest.entries[0].file in reasons[0]


def test_unregistered_model_fails_closed(project_root: Path, store: Store) -> None:
    """A release naming no registered model cannot pass the evidence check."""
    ctx = _ctx(project_root, store)
    ctx.plan = ReleasePlan(**{**ctx.plan.__dict__, "model": "ghost@9"})
    assert not EvidenceIntact().evaluate(ctx).passed
