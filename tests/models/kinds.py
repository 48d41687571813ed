"""Synthetic studies, report generators, study models and LoRA adapters for the model-kind tests (no real data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from qms.models.loaders import quiet_transformers
from qms.models.nets import SmallCnn3d, report_generator, word_tokenizer
from qms.models.study import write_index
from qms.models.volume import slice_normal
from tests.models.helpers import card, dicom, write, write_card

SEQUENCES = ("T1", "T2", "FLAIR")
STUDY_LABELS = ("mass", "haemorrhage", "infarct", "atrophy")
OBLIQUE = [0.8660254, 0.5, 0.0, 0.0, 0.0, -1.0]
REPORTS = ("no acute findings .", "small left pleural effusion .", "right pneumothorax , no effusion .",
           "cardiomegaly without effusion .")
FINDINGS = ("pneumothorax", "pleural_effusion", "cardiomegaly")
SIZE = 16


def study(folder: Path, *, seed: int = 0, slices: int = 6, orientation: list[float] = OBLIQUE,
          shuffle: int | None = None, matrix: tuple[int, int] = (12, 10)) -> Path:
    """A study folder of one MR series per sequence (values encode sequence and slice), indexed; returns the index.

    Slice k of sequence s holds 100 * s + 10 * k + noise, so order and channel can be read back from the tensor.
    With a `shuffle` seed, files are named in a random order unrelated to their position.
    """
    rng = np.random.default_rng(seed)
    naming = np.random.default_rng(shuffle)
    normal = slice_normal(np.array(orientation))
    for s, name in enumerate(SEQUENCES):
        names = naming.permutation(slices) if shuffle is not None else np.arange(slices)
        for k in range(slices):
            position = (np.array([-40.0, 12.0, 7.5]) + 3.0 * k * normal).tolist()
            pixels = (100 * s + 10 * k + rng.integers(0, 3, matrix)).astype(np.uint16)
            ds = dicom(pixels, modality="MR", bits=16, ImageOrientationPatient=orientation,
                       ImagePositionPatient=position, PixelSpacing=[1.5, 1.5], SeriesDescription=name,
                       InstanceNumber=int(names[k]) + 1)
            write(ds, folder / name / f"{int(names[k]):03d}.dcm")
    return write_index(folder, SEQUENCES)


def study_card(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "input": {"modalities": ["MR"], "image_size": 8, "channels": 3, "mean": [0, 0, 0], "std": [1, 1, 1]},
        "output_labels": list(STUDY_LABELS),
        "architecture": {"format": "torch", "weights": "model.safetensors", "torch_class": "qms.models.nets:SmallCnn3d",
                         "init_args": {"channels": 3, "labels": len(STUDY_LABELS), "width": 4}},
        "study": {"sequences": list(SEQUENCES), "shape": [8, 8, 8], "spacing": [3.0, 3.0, 3.0]},
        "precision_limits": {"fp32": 0.0, "bf16": 0.05}}
    return card(**{**fields, **changes})


def study_model(folder: Path, *, seed: int = 0) -> Path:
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(SmallCnn3d(3, len(STUDY_LABELS), width=4).state_dict(), str(folder / "model.safetensors"))
    write_card(folder, study_card())
    return folder


def generator_card(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "output_labels": list(FINDINGS), "architecture": {"format": "image-to-text", "weights": "model.safetensors"},
        "generation": {"max_new_tokens": 8}, "precision_limits": {"fp32": 0.0, "bf16": 0.05}}
    return card(**{**fields, **changes})


def generator(folder: Path, *, seed: int = 0, **generation: Any) -> Path:
    """A tiny ViT-to-GPT-2 report writer with seeded random weights, its tokenizer and card in one folder."""
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = word_tokenizer(REPORTS, folder)
    torch.manual_seed(seed)
    with quiet_transformers():
        report_generator(tokenizer, image_size=SIZE, channels=1).save_pretrained(folder)
    write_card(folder, generator_card(generation={"max_new_tokens": 8, **generation}))
    return folder


def lora_adapter(base: torch.nn.Module, folder: Path, targets: list[str], card_data: dict[str, Any], *,
                 seed: int = 1) -> Path:
    """A LoRA adapter over `base` with seeded non-zero weights (so it changes outputs), saved with its card."""
    import copy

    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    peft = get_peft_model(copy.deepcopy(base), LoraConfig(r=2, lora_alpha=4, target_modules=targets, init_lora_weights=False))
    with quiet_transformers():
        peft.save_pretrained(str(folder))
    arch = {"format": "lora", "weights": "adapter_model.safetensors"}
    write_card(folder, {**card_data, "architecture": arch})
    return folder


def images(folder: Path, count: int) -> list[Path]:
    """`count` distinct synthetic DX images."""
    rng = np.random.default_rng(7)
    return [write(dicom(rng.integers(0, 4096, (20, 20)).astype(np.uint16)), folder / f"img-{i}.dcm")
            for i in range(count)]
