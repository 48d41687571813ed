"""The gate re-hashes the evidence: model files against the registry, locked protocols, dataset files against manifests."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import time
from pathlib import Path

import pytest

from qms.config import load_project
from qms.gate.checks.evidence import INDEX_NAME, EvidenceIntact
from qms.traceability.cachetag import CACHE_KEY_FILE
from qms.gate.context import GateContext
from qms.models import registry
from qms.release_plan import ReleasePlan
from qms.store import Store
from qms.validation.lock import lock
from qms.validation.manifest import DatasetManifest
from qms.validation.protocolparser import read_protocol
from qms.validation.inputs import inputs_for
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


def _cached_ctx(root: Path, store: Store, home: Path, *, stat_cache: bool = True) -> GateContext:
    ctx = _ctx(root, store)
    return GateContext(ctx.project, store, ctx.plan, identity_dir=home, stat_cache=stat_cache)


def _forged(image: Path, digest: str) -> list[object]:
    """A cache entry for the file as it is now that claims `digest`, settled long ago (so the racy rule trusts it)."""
    st = image.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev, digest, time.time_ns() + 10**12]


def _forge_entry(root: Path, image: Path, entry: list[object]) -> None:
    """What an insider with write access to the project does: the cache entry of an edited file claims its old digest."""
    index = root / ".qms" / "cache" / INDEX_NAME
    doc = json.loads(index.read_text())
    (key,) = [k for k in doc["files"] if Path(k) == image]
    doc["files"][key] = entry
    index.write_text(json.dumps(doc))


def _first_image(root: Path) -> tuple[Path, str]:
    manifest = DatasetManifest.from_json(json.loads((root / "data" / "manifests" / "test.json").read_text()), "m")
    return root / "data" / "deid" / manifest.entries[0].file, manifest.entries[0].sha256


def test_forged_stat_cache_entry_does_not_hide_an_edited_file(project_root: Path, store: Store, tmp_path: Path) -> None:
    """An edited test image whose stat-cache entry is forged to its recorded digest (MAC kept, or dropped) is still a finding:
    the entries are authenticated with a key in QMS_HOME, outside the project."""
    home = tmp_path / "home"
    home.mkdir()
    assert EvidenceIntact().evaluate(_cached_ctx(project_root, store, home)).passed
    assert (home / CACHE_KEY_FILE).is_file()
    image, recorded = _first_image(project_root)
    image.write_bytes(image.read_bytes()[:-1] + b"\x00")
    for mac in (["0" * 64], []):
        _forge_entry(project_root, image, _forged(image, recorded) + mac)
        found = EvidenceIntact().evaluate(_cached_ctx(project_root, store, home)).findings
        assert [f.item for f in found] == ["protocol:VAL-T@1.0"] and image.name in found[0].reason


def test_release_rehashes_whatever_the_cache_says(project_root: Path, store: Store, tmp_path: Path) -> None:
    """Even an entry forged with the real key (an insider who also read QMS_HOME) fools only `qms verify`'s cache: the gate of
    a release (no stat cache) reads every file again; and without the key the cache is not trusted at all."""
    home = tmp_path / "home"
    home.mkdir()
    EvidenceIntact().evaluate(_cached_ctx(project_root, store, home))
    image, recorded = _first_image(project_root)
    image.write_bytes(image.read_bytes()[:-1] + b"\x00")
    key = bytes.fromhex((home / CACHE_KEY_FILE).read_text())
    name = next(k for k in json.loads((project_root / ".qms" / "cache" / INDEX_NAME).read_text())["files"] if Path(k) == image)
    entry = _forged(image, recorded)
    entry.append(hmac.new(key, json.dumps([name, *entry], separators=(",", ":")).encode(), hashlib.sha256).hexdigest())
    _forge_entry(project_root, image, entry)
    assert EvidenceIntact().evaluate(_cached_ctx(project_root, store, home)).passed  # the key holder can forge the cache
    assert not EvidenceIntact().evaluate(_cached_ctx(project_root, store, home, stat_cache=False)).passed
    _forge_entry(project_root, image, entry)
    (home / CACHE_KEY_FILE).unlink()
    assert not EvidenceIntact().evaluate(_cached_ctx(project_root, store, home)).passed


def test_model_files_are_read_in_full_whatever_the_cache_says(project_root: Path, store: Store, tmp_path: Path) -> None:
    """The released model's files never go through the stat cache: flipped weights are a finding in `qms verify` even
    when an insider holding QMS_HOME has re-signed a cache entry that claims the registered digest."""
    home = tmp_path / "home"
    home.mkdir()
    assert EvidenceIntact().evaluate(_cached_ctx(project_root, store, home)).passed
    index = project_root / ".qms" / "cache" / INDEX_NAME
    cached = json.loads(index.read_text())["files"]
    weights = [Path(k) for k in cached if "models" in Path(k).parts]
    assert not weights, "model files must not be entered in the stat cache"
    weight = next(p for p in (project_root / "models").rglob("*.safetensors"))
    data = bytearray(weight.read_bytes())
    data[-1] ^= 0xFF
    weight.write_bytes(bytes(data))
    found = EvidenceIntact().evaluate(_cached_ctx(project_root, store, home)).findings
    assert any(f.item.startswith("model:") and "differs from its record" in f.reason for f in found)

