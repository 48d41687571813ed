"""A training run is seeded and recorded, and its folder registers with the run as its lineage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from qms import audit
from qms.cli.main import app
from qms.hashing import digest_of, sha256_file
from qms.models import registry, training
from qms.models.card import ModelCard
from qms.models.errors import ModelError
from qms.store import Store, open_store
from qms.validation.manifest import DatasetManifest, ManifestEntry
from tests.models.helpers import LABELS, card, dicom, write


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DatasetManifest]:
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(3)
    entries = []
    for i in range(16):
        labels = {n: int(rng.random() < 0.5) for n in LABELS}
        pixels = rng.integers(0, 1000, (16, 16)).astype(np.uint16) + 2000 * labels["cardiomegaly"]
        path = write(dicom(pixels), root / f"case-{i}.dcm")
        entries.append(ManifestEntry(file=path.name, sha256=sha256_file(path), patient_id=f"P{i // 2}",
                                     study_uid=f"1.2.3.{i}", labels=labels))
    return root, DatasetManifest(name="train", split="train", label_names=LABELS, attribute_names=(),
                                 entries=tuple(entries))


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    (tmp_path / "card.yaml").write_text(yaml.safe_dump(card()), encoding="utf-8")
    config = {"seed": 11, "card_template": "card.yaml", "epochs": 2, "batch_size": 4, "learning_rate": 0.01,
              "tuning_fraction": 0.25,
              "vit": {"patch_size": 8, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                      "intermediate_size": 32}}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _train(store: Store, recipe: Path, dataset: tuple[Path, DatasetManifest], out: Path) -> training.TrainOutcome:
    root, manifest = dataset
    return training.run_training(store, recipe, manifest, root, out, actor="alice", git_commit="a" * 40, git_dirty=False)


def test_trained_folder_registers_with_its_training_run(sqlite_url: str, recipe: Path, tmp_path: Path,
                                                        dataset: tuple[Path, DatasetManifest]) -> None:
    """The run writes a complete model folder, records its inputs by hash, and registering links the two."""
    store = open_store(sqlite_url)
    epochs: list[int] = []
    outcome = training.run_training(store, recipe, dataset[1], dataset[0], tmp_path / "model", actor="alice",
                                    git_commit="a" * 40, git_dirty=False, progress=epochs.append)
    assert epochs == [1, 2]
    assert sorted(p.name for p in outcome.folder.iterdir()) == ["config.json", "lineage.json", "model.safetensors",
                                                                 "model_card.yaml"]
    assert ModelCard.from_folder(outcome.folder).training_data.manifest_sha256 == dataset[1].sha256
    view = registry.register(store, outcome.folder, name="cxr-vit", version="1.0.0", actor="alice")
    run = json.loads(view.record.lineage)["training_run"]
    assert run == {"id": outcome.run.id, "manifest_sha256": dataset[1].sha256, "config_digest": outcome.run.config_digest,
                   "seed": 11, "git_commit": "a" * 40, "git_dirty": False}
    assert [e.action for e in audit.log(store)] == ["model.train", "model.register"]


def test_a_trained_folder_registers_without_loading_torch(sqlite_url: str, recipe: Path, tmp_path: Path,
                                                         dataset: tuple[Path, DatasetManifest]) -> None:
    """The run loads its written folder back and records so; registering exactly those files then needs no torch."""
    import subprocess
    import sys

    store = open_store(sqlite_url)
    outcome = _train(store, recipe, dataset, tmp_path / "model")
    assert json.loads(outcome.run.metrics)[registry.LOADED_BACK] is True
    store.dispose()
    probe = ("import sys; from pathlib import Path; from qms.models import registry; from qms.store import open_store; "
             f"v = registry.register(open_store({sqlite_url!r}), Path({str(outcome.folder)!r}), name='cxr-vit', "
             "version='1.0.0', actor='alice'); "
             "print(v.record.ref, sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["cxr-vit@1.0.0", "[]"]
    assert json.loads(registry.get(open_store(sqlite_url), "cxr-vit@1.0.0").labels) == list(LABELS)


def test_same_seed_same_weights(sqlite_url: str, recipe: Path, tmp_path: Path,
                                dataset: tuple[Path, DatasetManifest]) -> None:
    """Training twice from the same manifest, config and seed gives byte-identical weights."""
    store = open_store(sqlite_url)
    first = _train(store, recipe, dataset, tmp_path / "a")
    second = _train(store, recipe, dataset, tmp_path / "b")
    assert sha256_file(first.folder / "model.safetensors") == sha256_file(second.folder / "model.safetensors")
    assert first.run.id != second.run.id


def test_a_changed_trained_folder_is_not_registered_as_that_run(sqlite_url: str, recipe: Path, tmp_path: Path,
                                                                dataset: tuple[Path, DatasetManifest]) -> None:
    """Editing a trained folder (here its card) breaks its link to the run: registration is refused."""
    store = open_store(sqlite_url)
    outcome = _train(store, recipe, dataset, tmp_path / "model")
    path = outcome.folder / "model_card.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("random weights", "excellent weights"), encoding="utf-8")
    with pytest.raises(ModelError, match="not what its training run wrote"):
        registry.register(store, outcome.folder, name="cxr-vit", version="1.0.0", actor="alice")
    assert registry.versions(store) == []


def test_existing_output_and_bad_config_are_refused(sqlite_url: str, recipe: Path, tmp_path: Path,
                                                    dataset: tuple[Path, DatasetManifest]) -> None:
    """Training never overwrites a folder, and a config with an unknown field is refused naming it, its file and line."""
    store = open_store(sqlite_url)
    (tmp_path / "taken").mkdir()
    with pytest.raises(ModelError, match="already exists"):
        _train(store, recipe, dataset, tmp_path / "taken")
    data = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    recipe.write_text(yaml.safe_dump({**data, "epoch": 3}), encoding="utf-8")
    with pytest.raises(ModelError, match="'epoch'") as err:
        _train(store, recipe, dataset, tmp_path / "new")
    file, line = str(err.value.where).rsplit(":", 1)
    assert file == str(recipe) and recipe.read_text(encoding="utf-8").splitlines()[int(line) - 1].startswith("epoch:")
    assert not (tmp_path / "new").exists()


def test_edited_training_run_is_a_gate_finding(sqlite_url: str, recipe: Path, tmp_path: Path,
                                               dataset: tuple[Path, DatasetManifest]) -> None:
    """A training run whose dirty-tree flag and metrics were rewritten in its table no longer matches its audit event."""
    from qms.gate.grants import grant_findings
    from tests.core.tamper import drop_table_protection, execute

    store = open_store(sqlite_url)
    run = _train(store, recipe, dataset, tmp_path / "model").run
    assert grant_findings(store)[0] == []
    drop_table_protection(store, "model_training_run")
    execute(store, "UPDATE model_training_run SET git_dirty = :d, metrics = :m", d=True,
            m=run.metrics.replace('"tuning_cases"', '"tuning_cases_"'))
    assert [f"{f.item}: {f.reason}" for f in grant_findings(store)[0]] == [
        f"model_training_run training-run:{run.id} (row {run.id}): the model_training_run row differs from what its "
        "audit event recorded: the row was edited"]


def _cnn_recipe(recipe: Path, **architecture: object) -> Path:
    """The `recipe` fixture turned into a plain-torch CNN recipe, its card template saying so."""
    config = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    del config["vit"]
    recipe.write_text(yaml.safe_dump({**config, "cnn": {"width": 4, "blocks": 2}}), encoding="utf-8")
    template = recipe.parent / config["card_template"]
    stated = architecture or {"format": "torch", "torch_class": "qms.models.nets:SmallCnn2d"}
    template.write_text(yaml.safe_dump(card(architecture=stated)), encoding="utf-8")
    return recipe


def test_a_cnn_recipe_trains_a_torch_folder_that_loads_without_transformers(
        sqlite_url: str, recipe: Path, tmp_path: Path, dataset: tuple[Path, DatasetManifest]) -> None:
    """`cnn` trains qmskit's plain-torch network: the card names its class and shape, the folder has no transformers
    config, the same seed gives the same weights, and the registered version loads and answers without transformers."""
    import subprocess
    import sys

    store = open_store(sqlite_url)
    outcome = _train(store, _cnn_recipe(recipe), dataset, tmp_path / "model")
    again = _train(store, recipe, dataset, tmp_path / "again")
    assert sorted(p.name for p in outcome.folder.iterdir()) == ["lineage.json", "model.safetensors", "model_card.yaml"]
    assert sha256_file(outcome.folder / "model.safetensors") == sha256_file(again.folder / "model.safetensors")
    architecture = ModelCard.from_folder(outcome.folder).architecture
    assert (architecture.format.value, architecture.torch_class, architecture.init_args) == (
        "torch", "qms.models.nets:SmallCnn2d", {"channels": 1, "labels": len(LABELS), "width": 4, "blocks": 2})
    assert set(json.loads(outcome.run.config)) >= {"cnn"} and "vit" not in json.loads(outcome.run.config)
    registry.register(store, outcome.folder, name="cxr-cnn", version="1.0.0", actor="alice")
    store.dispose()
    probe = ("import sys, torch; from pathlib import Path; from qms.models import registry; "
             f"from qms.store import open_store; m = registry.load(open_store({sqlite_url!r}), 'cxr-cnn@1.0.0', "
             f"root=Path({str(tmp_path)!r})); from qms.models.inference import environment; "
             "env = environment(torch.device('cpu'), 'fp32', 2, 0); "  # what a validation run records
             "print(tuple(m.logits(torch.zeros(2, 1, 16, 16)).shape), 'transformers' in sys.modules, "
             "bool(env['transformers']))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["(2,", f"{len(LABELS)})", "False", "True"]  # transformers' version read, not imported


@pytest.mark.parametrize("networks", [{}, {"cnn": {"width": 4}, "vit": {"patch_size": 8, "hidden_size": 16,
                                           "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}}])
def test_a_recipe_names_exactly_one_network(sqlite_url: str, recipe: Path, tmp_path: Path, networks: dict[str, object],
                                            dataset: tuple[Path, DatasetManifest]) -> None:
    """No network, or both, is refused naming the recipe file; nothing is written."""
    config = {k: v for k, v in yaml.safe_load(recipe.read_text(encoding="utf-8")).items() if k != "vit"}
    recipe.write_text(yaml.safe_dump({**config, **networks}), encoding="utf-8")
    with pytest.raises(ModelError, match="exactly one network: vit .* or cnn") as err:
        _train(open_store(sqlite_url), recipe, dataset, tmp_path / "model")
    assert err.value.where == str(recipe) and not (tmp_path / "model").exists()


def test_a_vit_recipe_refuses_a_torch_template_and_other_weights(sqlite_url: str, recipe: Path, tmp_path: Path,
                                                                 dataset: tuple[Path, DatasetManifest]) -> None:
    """The reverse of the cnn case: a ViT recipe needs a transformers template whose weights are what
    save_pretrained writes; either disagreement is refused before training, naming the template."""
    template = recipe.parent / "card.yaml"
    for stated, said in (({"format": "torch", "torch_class": "qms.models.nets:SmallCnn2d"}, "says format torch"),
                         ({"format": "transformers", "weights": "vit.safetensors"}, "weights vit.safetensors")):
        template.write_text(yaml.safe_dump(card(architecture=stated)), encoding="utf-8")
        with pytest.raises(ModelError, match=f"the recipe trains 'vit'.*{said}") as err:
            _train(open_store(sqlite_url), recipe, dataset, tmp_path / "model")
        assert err.value.where == str(template) and not (tmp_path / "model").exists()


@pytest.mark.parametrize("weights", ["../model.safetensors", "sub/model.safetensors", "model.bin", ".safetensors"])
def test_a_card_names_its_weights_as_a_safetensors_file_in_its_folder(weights: str) -> None:
    """A path would let training write, and loading read, weights outside the folder its digest covers."""
    with pytest.raises(ValueError, match="weights"):
        ModelCard.model_validate(card(architecture={"format": "transformers", "weights": weights}))


@pytest.mark.parametrize(("stated", "said"), [
    ({"format": "transformers"}, "the card template says format transformers"),
    ({"format": "torch", "torch_class": "mypkg.nets:Other"}, "class mypkg.nets:Other"),
    ({"format": "torch", "torch_class": "qms.models.nets:SmallCnn2d", "init_args": {"width": 16}}, "init_args"),
])
def test_a_card_template_that_disagrees_with_the_recipe_is_refused(
        sqlite_url: str, recipe: Path, tmp_path: Path, dataset: tuple[Path, DatasetManifest],
        stated: dict[str, object], said: str) -> None:
    """A cnn recipe whose template states another format, class or shape is refused naming the template, untrained."""
    _cnn_recipe(recipe, **stated)
    with pytest.raises(ModelError, match=f"the recipe trains 'cnn'.*{said}") as err:
        _train(open_store(sqlite_url), recipe, dataset, tmp_path / "model")
    assert err.value.where == str(recipe.parent / "card.yaml") and "SmallCnn2d" in str(err.value.hint)
    assert not (tmp_path / "model").exists()


def test_a_fine_tune_keeps_its_parents_network(sqlite_url: str, recipe: Path, tmp_path: Path,
                                               dataset: tuple[Path, DatasetManifest]) -> None:
    """A cnn recipe fine-tunes a registered CNN (the run names its parent); naming a ViT parent is refused, untrained,
    since no weight of one would carry over into the other."""
    store = open_store(sqlite_url)
    vit = _train(store, recipe, dataset, tmp_path / "vit")
    registry.register(store, vit.folder, name="base-vit", version="1", actor="alice")
    cnn = _train(store, _cnn_recipe(recipe), dataset, tmp_path / "cnn")
    registry.register(store, cnn.folder, name="base-cnn", version="1", actor="alice")
    config = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    root, manifest = dataset
    for parent, out in (("base-vit@1", "from-vit"), ("base-cnn@1", "from-cnn")):
        recipe.write_text(yaml.safe_dump({**config, "parent": parent}), encoding="utf-8")
        loaded = registry.load(store, parent, root=tmp_path)
        if parent == "base-vit@1":
            with pytest.raises(ModelError, match="fine-tunes base-vit@1, a transformers network, into a torch "
                                                 "qms.models.nets:SmallCnn2d"):
                training.run_training(store, recipe, manifest, root, tmp_path / out, actor="alice",
                                      git_commit=None, git_dirty=False, parent=loaded)
            assert not (tmp_path / out).exists()
        else:
            config_now, card_now, _ = training.load_config(recipe)
            start = training._model(config_now, card_now, loaded).state_dict()
            assert all(torch.equal(start[k], v) for k, v in loaded.module.state_dict().items())  # starts from it
            run = training.run_training(store, recipe, manifest, root, tmp_path / out, actor="alice",
                                        git_commit=None, git_dirty=False, parent=loaded).run
            assert (run.parent, run.parent_digest) == ("base-cnn@1", loaded.digest)


def test_a_vit_recipes_identity_is_what_it_was_before_cnn_recipes(recipe: Path) -> None:
    """The config digest a training run is recorded under did not move when recipes gained `cnn`: this digest was
    computed with the eleventh stop's TrainConfig (a7037c2) for the `recipe` fixture, so re-training an old ViT
    recipe still names the same config."""
    before = "ad2d20c4829d36978e414a7a7229e943e67564ed8a9df9a470f624a343fdc9b5"
    assert digest_of(training.load_config(recipe)[2]) == before


def test_a_model_trained_from_uncommitted_changes_says_so_in_model_show(recipe: Path, tmp_path: Path,
                                                                        dataset: tuple[Path, DatasetManifest]) -> None:
    """`qms model show` prints the training run's commit and, when the tree had uncommitted changes, says so: the
    commit alone does not reproduce such a model (only `--json` used to tell)."""
    runner = CliRunner()
    root = tmp_path / "device"
    assert runner.invoke(app, ["-C", str(root), "init", "--device", "D", "--intended-use", "Flags CXR.",
                               "--safety-class", "b"]).exit_code == 0
    store = open_store(f"sqlite:///{root / '.qms' / 'qms.db'}")
    try:
        outcome = training.run_training(store, recipe, dataset[1], dataset[0], tmp_path / "model", actor="alice",
                                        git_commit="a" * 40, git_dirty=True)
        registry.register(store, outcome.folder, name="cxr-vit", version="1.0.0", actor="alice")
    finally:
        store.dispose()
    shown = runner.invoke(app, ["-C", str(root), "model", "show", "cxr-vit@1.0.0"])
    assert shown.exit_code == 0 and "commit aaaaaaaaaaaa with uncommitted changes" in shown.output, shown.output
