"""Drafts: the same image gives the same draft, batched or not; only the training vocabulary; unreadable images named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from generate import FINDINGS, image, report
from qms.models.generation import generate
from qms.models.loaders import LoadedModel, load_folder, quiet_transformers
from qms.models.nets import report_generator, word_tokenizer
from qms.synthetic_dicom import SyntheticPatient, synthetic_image

HERE = Path(__file__).resolve().parents[1]
REPORTS = [report(dict(zip(FINDINGS, bits, strict=True)), side)
           for bits in np.ndindex(2, 2, 2) for side in ("left", "right")]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    """An untrained generator of the card's shape (random weights: drafts need not be right to be reproducible)."""
    folder = tmp_path_factory.mktemp("model")
    tokenizer = word_tokenizer(REPORTS, folder)
    torch.manual_seed(0)
    with quiet_transformers():
        report_generator(tokenizer, image_size=32, channels=1).save_pretrained(folder)
    card = yaml.safe_load((HERE / "model" / "model_card.template.yaml").read_text(encoding="utf-8"))
    (folder / "model_card.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    return load_folder(folder, ref="report-gen@test", digest="0" * 64)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    rng = np.random.default_rng(3)
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for i in range(5):
        findings = {f: int(rng.random() < 0.5) for f in FINDINGS}
        ds = synthetic_image(image(findings, "left", rng), bits_stored=12, patient=SyntheticPatient(f"P{i}"))
        ds.save_as(folder / f"{i}.dcm", enforce_file_format=True)
        paths.append(folder / f"{i}.dcm")
    return paths


@pytest.mark.verifies("REQ-001", "RC-002")
def test_the_same_image_gives_the_same_draft(model: LoadedModel, images: list[Path]) -> None:
    """Two runs, and batches of 4 against one at a time, give identical drafts."""
    first = generate(model, images, batch_size=4).texts
    assert first == generate(model, images, batch_size=4).texts == generate(model, images, batch_size=1).texts


@pytest.mark.verifies("REQ-002", "RC-002")
def test_drafts_use_the_training_vocabulary_and_unreadable_images_are_named(model: LoadedModel, images: list[Path],
                                                                            tmp_path: Path) -> None:
    """Every drafted word is in the training reports' vocabulary; a non-DICOM file gets no draft and is named."""
    vocabulary = {w for r in REPORTS for w in r.split()}
    bad = tmp_path / "not-an-image.dcm"
    bad.write_bytes(b"no")
    result = generate(model, [*images, bad])
    assert all(set((t or "").replace(".", " . ").replace(",", " , ").split()) <= vocabulary for t in result.texts[:-1])
    assert result.texts[-1] is None and str(bad) in result.failures[len(images)]
