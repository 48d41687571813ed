"""Fine-tunes and LoRA adapters name their base, and every load re-checks the base's files too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from qms.models import registry
from qms.models.errors import ModelError, TamperedModel
from qms.models.inference import predict
from qms.models.loaders import load_folder
from qms.store import Store
from tests.models.helpers import card, torch_folder
from tests.models.kinds import images, lora_adapter

pytestmark = pytest.mark.verifies("QMS-REQ-218")

TORCH_ARCH = {"format": "torch", "weights": "model.safetensors", "torch_class": "tests.models.helpers:TinyNet",
              "init_args": {"labels": 3}}


def _adapter(base_folder: Path, folder: Path) -> Path:
    base = load_folder(base_folder, ref="base@1", digest="0" * 64)
    return lora_adapter(base.module, folder, ["head"], card())


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_fine_tune_records_its_base_and_loading_it_rechecks_the_base(store: Store, tmp_path: Path) -> None:
    """A fine-tune's lineage names the base and its digest; a changed base file refuses the fine-tune's load."""
    base = torch_folder(tmp_path / "base", seed=0)
    base_view = registry.register(store, base, name="tiny", version="1.0", actor="tester")
    tuned = registry.register(store, torch_folder(tmp_path / "tuned", seed=1), name="tiny", version="1.1",
                              actor="tester", parent="tiny@1.0")
    lineage = tuned.to_json(full=True)["lineage"]
    assert lineage["parent"] == {"ref": "tiny@1.0", "digest": base_view.record.digest}
    assert [r.ref for r in registry.lineage_chain(store, "tiny@1.1")] == ["tiny@1.1", "tiny@1.0"]
    registry.load(store, "tiny@1.1")
    _corrupt(base / "model.safetensors")
    with pytest.raises(TamperedModel) as err:
        registry.load(store, "tiny@1.1")
    assert str(base / "model.safetensors") in err.value.diagnostics()


def test_a_lora_adapter_is_its_own_version_over_its_base(store: Store, tmp_path: Path) -> None:
    """The adapter's own files are hashed; it registers only over a named base and changes the base's outputs."""
    base = torch_folder(tmp_path / "base")
    registry.register(store, base, name="tiny", version="1.0", actor="tester")
    adapter = _adapter(base, tmp_path / "adapter")
    with pytest.raises(ModelError, match="over its base"):
        registry.register(store, adapter, name="tiny-site-a", version="1.0", actor="tester")
    view = registry.register(store, adapter, name="tiny-site-a", version="1.0", actor="tester", parent="tiny@1.0")
    files = {f["path"] for f in view.to_json(full=True)["files"]}
    assert {"adapter_config.json", "adapter_model.safetensors", "model_card.yaml"} <= files
    assert view.record.format == "lora"
    scans = images(tmp_path / "img", 3)
    tuned = predict(registry.load(store, "tiny-site-a@1.0"), scans).probabilities
    plain = predict(registry.load(store, "tiny@1.0"), scans).probabilities
    assert not torch.allclose(torch.from_numpy(tuned), torch.from_numpy(plain))


@pytest.mark.parametrize("victim", ["adapter/adapter_model.safetensors", "base/model.safetensors"])
def test_a_changed_adapter_or_base_refuses_the_adapter(store: Store, tmp_path: Path, victim: str) -> None:
    """Loading base + adapter re-checks both: a changed byte in either is refused, naming the file."""
    base = torch_folder(tmp_path / "base")
    registry.register(store, base, name="tiny", version="1.0", actor="tester")
    registry.register(store, _adapter(base, tmp_path / "adapter"), name="tiny-a", version="1.0", actor="tester",
                      parent="tiny@1.0")
    _corrupt(tmp_path / victim)
    with pytest.raises(TamperedModel) as err:
        registry.load(store, "tiny-a@1.0")
    assert str(tmp_path / victim) in err.value.diagnostics()


def test_an_adapter_must_match_its_base(tmp_path: Path) -> None:
    """An adapter loaded without a base, or over a base with other labels, is refused."""
    base = torch_folder(tmp_path / "base")
    adapter = _adapter(base, tmp_path / "adapter")
    with pytest.raises(ModelError, match="none was given"):
        load_folder(adapter, ref="a@1", digest="0" * 64)
    (adapter / "model_card.yaml").write_text(
        (adapter / "model_card.yaml").read_text().replace("cardiomegaly", "atelectasis"), encoding="utf-8")
    with pytest.raises(ModelError, match="differ from its base"):
        load_folder(adapter, ref="a@1", digest="0" * 64, base=load_folder(base, ref="base@1", digest="0" * 64))


def test_qms_model_lineage_shows_the_chain(tmp_path: Path) -> None:
    """`qms model lineage` prints the adapter over its base, nearest first, and the chain as JSON."""
    from qms.cli.main import app

    runner = CliRunner()
    root = tmp_path / "device"

    def qms(*args: str) -> str:
        result = runner.invoke(app, ["-C", str(root), *args])
        assert result.exit_code == 0, result.output
        return result.output

    qms("init", "--device", "Brain", "--intended-use", "Flags MRI.", "--safety-class", "b")
    base = torch_folder(tmp_path / "base")
    qms("model", "register", str(base), "--name", "tiny", "--version", "1.0")
    qms("model", "register", str(_adapter(base, tmp_path / "adapter")), "--name", "tiny-a", "--version", "1.0",
        "--parent", "tiny@1.0")
    text = qms("model", "lineage", "tiny-a@1.0")
    assert text.index("tiny-a@1.0") < text.index("adapter over") < text.index("tiny@1.0")
    chain = json.loads(qms("model", "lineage", "tiny-a@1.0", "--json"))
    assert [(c["ref"], c["format"]) for c in chain] == [("tiny-a@1.0", "lora"), ("tiny@1.0", "torch")]
