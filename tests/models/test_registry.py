"""Registering records a model version by its files' hashes and card; loading re-checks every hash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from qms import audit
from qms.models import registry
from qms.models.errors import ModelError, TamperedModel
from qms.models.fileset import FileSet
from qms.models.records import ModelStage, ModelVersion
from qms.models.stages import Stage
from qms.store import Store, open_store
from tests.models.helpers import LABELS, card, torch_folder, vit_folder, write_card


def _count(store: Store) -> tuple[int, int, int]:
    with store.reader() as session:
        versions = session.exec(select(func.count()).select_from(ModelVersion)).one()
        stages = session.exec(select(func.count()).select_from(ModelStage)).one()
    return int(versions), int(stages), audit.head(store)[0]


@pytest.fixture(scope="module")
def vit_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return vit_folder(tmp_path_factory.mktemp("vit") / "model")


@pytest.fixture
def vit(tmp_path: Path, vit_template: Path) -> Path:
    return Path(shutil.copytree(vit_template, tmp_path / "vit"))


def test_register_records_hashes_card_stage_and_audit(store: Store, vit: Path) -> None:
    """A registered version holds every file's sha256, the card, stage development and one audit event."""
    view = registry.register(store, vit, name="cxr-vit", version="1.0.0", actor="alice")
    assert view.stage is Stage.DEVELOPMENT
    assert view.record.digest == FileSet.of_folder(vit).digest
    files = {f["path"] for f in json.loads(view.record.files)}
    assert files == {"config.json", "model.safetensors", "model_card.yaml"}
    shown = registry.show(store, "cxr-vit@1.0.0").to_json(full=True)
    assert shown["labels"] == list(LABELS) and shown["card"]["output_labels"] == list(LABELS)
    [event] = audit.log(store, action="model.register")
    assert event.object == "model:cxr-vit@1.0.0" and event.actor == "alice"
    assert [v.record.ref for v in registry.versions(store)] == ["cxr-vit@1.0.0"]


def test_digest_does_not_depend_on_folder_location(tmp_path: Path, vit: Path) -> None:
    """The same files hash to the same version digest wherever the folder is."""
    copy = Path(shutil.copytree(vit, tmp_path / "elsewhere" / "copy"))
    assert FileSet.of_folder(copy).digest == FileSet.of_folder(vit).digest


def test_load_refuses_tampered_weights_naming_the_file(store: Store, vit: Path) -> None:
    """Weights changed after registration are refused at load, naming the weights file."""
    registry.register(store, vit, name="cxr-vit", version="1.0.0", actor="alice")
    assert registry.load(store, "cxr-vit@1.0.0").labels == LABELS
    weights = vit / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(TamperedModel, match="differs from the registered") as err:
        registry.load(store, "cxr-vit@1.0.0")
    assert err.value.where == str(weights)


def test_load_refuses_missing_and_added_files(sqlite_url: str, vit: Path) -> None:
    """A registered file that is gone, or a file that was added, makes the load fail, naming it."""
    store = open_store(sqlite_url)
    registry.register(store, vit, name="cxr-vit", version="1.0.0", actor="alice")
    (vit / "extra.bin").write_bytes(b"x")
    with pytest.raises(TamperedModel, match="not part of the registered") as err:
        registry.load(store, "cxr-vit@1.0.0")
    assert err.value.where == str(vit / "extra.bin")
    (vit / "extra.bin").unlink()
    (vit / "config.json").unlink()
    with pytest.raises(TamperedModel, match="missing") as err:
        registry.load(store, "cxr-vit@1.0.0")
    assert err.value.where == str(vit / "config.json")


def test_a_moved_copy_loads_when_its_hashes_match(sqlite_url: str, tmp_path: Path, vit: Path) -> None:
    """A version read from another location loads if, and only if, the files are the registered ones."""
    store = open_store(sqlite_url)
    registry.register(store, vit, name="cxr-vit", version="1.0.0", actor="alice")
    copy = Path(shutil.copytree(vit, tmp_path / "copy"))
    assert registry.load(store, "cxr-vit@1.0.0", location=copy).digest == FileSet.of_folder(vit).digest


def test_torch_module_folder_registers_and_loads(sqlite_url: str, tmp_path: Path) -> None:
    """A plain torch module (importable class + safetensors) registers and loads with the card's labels."""
    store = open_store(sqlite_url)
    folder = torch_folder(tmp_path / "tiny")
    view = registry.register(store, folder, name="tiny", version="0.1", actor="alice")
    assert view.record.format == "torch"
    assert registry.load(store, "tiny@0.1").labels == LABELS


@pytest.mark.parametrize("breakage, message, where", [
    ("no-card", "no model card", ""),
    ("no-weights", "no weights file 'model.safetensors'", ""),
    ("card-field", "lacks the required field 'known_limitations'", "model_card.yaml"),
    ("label-mismatch", "differ from the card's output_labels", "model_card.yaml"),
    ("bad-weights", "weights do not fit the config: missing keys", "model.safetensors"),
])
def test_bad_model_folders_register_nothing(sqlite_url: str, vit: Path, breakage: str, message: str, where: str) -> None:
    """A folder missing its card or weights, with an incomplete card, mismatched labels or broken weights is refused, naming the file; nothing is registered."""
    if breakage == "no-card":
        (vit / "model_card.yaml").unlink()
    elif breakage == "no-weights":
        (vit / "model.safetensors").unlink()
    elif breakage == "card-field":
        data = card()
        del data["known_limitations"]
        write_card(vit, data)
    elif breakage == "label-mismatch":
        write_card(vit, card(output_labels=["pneumothorax", "cardiomegaly", "pleural_effusion"]))
    else:
        (vit / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    store = open_store(sqlite_url)
    before = _count(store)
    with pytest.raises(ModelError, match=message) as err:
        registry.register(store, vit, name="cxr-vit", version="1.0.0", actor="alice")
    assert err.value.where == str(vit / where) if where else err.value.where == str(vit)
    assert _count(store) == before


def test_a_version_is_registered_once(sqlite_url: str, vit: Path) -> None:
    """Registering the same name@version twice is refused; versions are immutable."""
    store = open_store(sqlite_url)
    registry.register(store, vit, name="cxr-vit", version="1.0.0", actor="alice")
    with pytest.raises(ModelError, match="already registered"):
        registry.register(store, vit, name="cxr-vit", version="1.0.0", actor="alice")
    assert len(registry.versions(store)) == 1


@pytest.mark.parametrize("ref", ["cxr-vit", "CXR@1", "cxr@", "@1", "a b@1"])
def test_malformed_references_are_refused(sqlite_url: str, ref: str) -> None:
    """A reference that is not name@version is refused with the expected form named."""
    with pytest.raises(ModelError, match="not a model reference"):
        registry.get(open_store(sqlite_url), ref)


def test_parent_is_recorded_in_the_lineage(sqlite_url: str, tmp_path: Path, vit: Path) -> None:
    """A version registered with a parent records the parent's reference and digest."""
    store = open_store(sqlite_url)
    base = registry.register(store, vit, name="foundation", version="1", actor="alice")
    child = vit_folder(tmp_path / "child", seed=1)
    view = registry.register(store, child, name="cxr-vit", version="1.0.0", actor="alice", parent="foundation@1")
    assert json.loads(view.record.lineage)["parent"] == {"ref": "foundation@1", "digest": base.record.digest}
    with pytest.raises(ModelError, match="no such model version"):
        registry.register(store, vit_folder(tmp_path / "orphan", seed=2), name="x", version="1", actor="a", parent="nope@1")
