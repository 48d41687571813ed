"""Report generators load from their own hashed folder and write the same reports for the same seed."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.models import registry
from qms.models.card import ModelCard
from qms.models.errors import ModelError, TamperedModel
from qms.models.generation import generate
from qms.models.inference import predict
from qms.models.loaders import LoadedModel, load_folder
from qms.models.precision import check_gap, precision_gap
from qms.store import Store
from tests.models.helpers import write_card
from tests.models.kinds import generator, generator_card, images

pytestmark = pytest.mark.verifies("QMS-REQ-216")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generator(tmp_path_factory.mktemp("gen") / "model")


@pytest.fixture(scope="module")
def model(folder: Path) -> LoadedModel:
    return load_folder(folder, ref="writer@1", digest="0" * 64)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return images(tmp_path_factory.mktemp("images"), 5)


def test_greedy_generation_repeats_and_batching_does_not_change_it(model: LoadedModel, files: list[Path]) -> None:
    """Greedy reports are the same on a second run and whether cases go in batches of 4 or one by one."""
    batched = generate(model, files, batch_size=4)
    assert batched.texts == generate(model, files, batch_size=4).texts
    assert batched.texts == generate(model, files, batch_size=1).texts
    assert all(isinstance(t, str) for t in batched.texts) and not batched.failures
    assert batched.environment["decoding"] == "greedy" and batched.environment["precision"] == "fp32"


def test_sampled_generation_is_fixed_by_its_seed(tmp_path: Path, files: list[Path]) -> None:
    """With sampling, the same seed gives the same reports and other seeds give other reports."""
    sampler = load_folder(generator(tmp_path / "m", do_sample=True), ref="writer@2", digest="0" * 64)
    first = generate(sampler, files, batch_size=2, seed=11)
    assert first.texts == generate(sampler, files, batch_size=2, seed=11).texts
    others = {generate(sampler, files, batch_size=2, seed=s).texts for s in (12, 13, 14)}
    assert any(texts != first.texts for texts in others)
    assert first.environment["decoding"] == "sampling" and first.environment["seed"] == 11


def test_unreadable_images_are_failures_not_reports(model: LoadedModel, files: list[Path], tmp_path: Path) -> None:
    """A file that is not DICOM gets no report and a reason; the others are generated as usual."""
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not dicom")
    result = generate(model, [files[0], bad, files[1]], batch_size=2)
    assert result.texts[1] is None and str(bad) in result.failures[1]
    assert result.texts[0] == generate(model, [files[0]]).texts[0]


def test_a_generator_is_not_scored_and_a_classifier_does_not_write(model: LoadedModel, files: list[Path],
                                                                  tmp_path: Path) -> None:
    """Asking a generator for probabilities, or a card with generation but not image-to-text, is refused."""
    with pytest.raises(ModelError, match="writes reports"):
        predict(model, files[:1])
    with pytest.raises(ValueError, match="generation section"):
        ModelCard.model_validate(generator_card(architecture={"format": "transformers"}))


def test_generator_folder_needs_its_tokenizer(tmp_path: Path) -> None:
    """A folder without tokenizer.json is refused, naming the folder; nothing is fetched from elsewhere."""
    folder = generator(tmp_path / "m")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="needs tokenizer.json"):
        load_folder(folder, ref="writer@1", digest="0" * 64)


def test_every_generator_file_is_rechecked_at_load(store: Store, tmp_path: Path, files: list[Path]) -> None:
    """A registered generator's changed tokenizer refuses the load, naming the file; unchanged, it loads and writes."""
    folder = generator(tmp_path / "m")
    view = registry.register(store, folder, name="writer", version="1.0.0", actor="tester")
    loaded = registry.load(store, "writer@1.0.0")
    assert loaded.digest == view.record.digest and generate(loaded, files[:1]).texts[0] is not None
    recorded = {f["path"] for f in view.to_json(full=True)["files"]}
    assert {"tokenizer.json", "config.json", "model.safetensors", "model_card.yaml"} <= recorded
    tokenizer = folder / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text().replace('"effusion"', '"effusionx"'))
    with pytest.raises(TamperedModel) as err:
        registry.load(store, "writer@1.0.0")
    assert str(tokenizer) in err.value.diagnostics()


@pytest.mark.verifies("QMS-REQ-219")
def test_bf16_generation_is_within_the_stated_limit(model: LoadedModel, files: list[Path], folder: Path) -> None:
    """CPU bf16 autocast moves the fp32 report's token probabilities by less than the card's bf16 limit."""
    gap = precision_gap(model, files, "bf16", device="cpu")
    assert 0 < gap <= 0.05 and check_gap(model, "bf16", gap) is None
    assert generate(model, files, precision="bf16").environment["precision"] == "bf16"


@pytest.mark.verifies("QMS-REQ-219")
def test_precisions_the_card_does_not_state_are_refused(tmp_path: Path, files: list[Path]) -> None:
    """A card stating limits for fp32 only refuses bf16 generation; fp16 is refused on CPU whatever the card says."""
    folder = generator(tmp_path / "m")
    write_card(folder, generator_card(precision_limits={"fp32": 0.0}))
    model = load_folder(folder, ref="writer@1", digest="0" * 64)
    with pytest.raises(ModelError, match="no repeatability limit for bf16"):
        generate(model, files[:1], precision="bf16")
    with pytest.raises(ModelError, match="fp16 is for CUDA"):
        generate(model, files[:1], device="cpu", precision="fp16")
    assert check_gap(model, "bf16", 0.0) is not None
