"""Synthetic DICOM images and tiny model folders for the models tests (no real data anywhere)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image

LABELS = ("pneumothorax", "pleural_effusion", "cardiomegaly")
SIZE = 16


def dicom(pixels: np.ndarray | None = None, *, photometric: str = "MONOCHROME2", modality: str = "DX",
          bits: int = 12, **attributes: Any) -> Dataset:
    """A single-frame image object; `pixels` are stored values (a gradient if None)."""
    if pixels is None:
        pixels = (np.arange(40 * 30).reshape(40, 30) * 3 % (2**bits)).astype(np.uint16)
    return synthetic_image(pixels, modality=modality, photometric=photometric,
                           bits_stored=None if pixels.ndim == 3 else bits,
                           uids=SyntheticUids(generate_uid(), study=generate_uid()),
                           patient=SyntheticPatient("SYNTHETIC-1"), attributes=attributes)


def write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    path.write_bytes(buffer.getvalue())
    return path


def card(**changes: Any) -> dict[str, Any]:
    """A complete model card for the tiny test models; `changes` replace top-level fields."""
    data: dict[str, Any] = {
        "intended_use": "Synthetic test model; not for clinical use.",
        "indications": ["synthetic test images"],
        "contraindications": ["everything real"],
        "input": {"modalities": ["DX", "CR"], "image_size": SIZE, "channels": 1, "mean": [0.5], "std": [0.25]},
        "output_labels": list(LABELS),
        "training_data": {"summary": "none: random weights", "manifest_sha256": "ab" * 32},
        "performance_claims": [{"endpoint": "AUROC", "label": "mean", "claim": "none", "dataset": "none"}],
        "known_limitations": ["random weights"],
        "architecture": {"format": "transformers", "weights": "model.safetensors"},
    }
    data.update(changes)
    return data


def write_card(folder: Path, data: dict[str, Any]) -> None:
    (folder / "model_card.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def vit_folder(folder: Path, *, labels: tuple[str, ...] = LABELS, seed: int = 0) -> Path:
    """A tiny transformers ViT classifier with seeded random weights and a complete card."""
    from transformers import ViTConfig, ViTForImageClassification

    from qms.models.loaders import quiet_transformers

    torch.manual_seed(seed)
    fields: dict[str, Any] = {
        "image_size": SIZE, "patch_size": 8, "num_channels": 1, "hidden_size": 16, "num_hidden_layers": 1,
        "num_attention_heads": 2, "intermediate_size": 32, "num_labels": len(labels),
        "id2label": dict(enumerate(labels)), "label2id": {n: i for i, n in enumerate(labels)},
        "problem_type": "multi_label_classification"}
    with quiet_transformers():
        ViTForImageClassification(ViTConfig(**fields)).save_pretrained(folder)
    write_card(folder, card())
    return folder


class TinyNet(torch.nn.Module):
    """A plain torch multi-label classifier: mean-pooled pixels through one linear layer."""

    def __init__(self, labels: int = 3, channels: int = 1) -> None:
        super().__init__()
        self.head = torch.nn.Linear(channels * 16, labels)
        self.pool = torch.nn.AdaptiveAvgPool2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.pool(x).flatten(1))
        return out


def torch_folder(folder: Path, *, seed: int = 0) -> Path:
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(TinyNet().state_dict(), str(folder / "model.safetensors"))
    write_card(folder, card(architecture={"format": "torch", "weights": "model.safetensors",
                                          "torch_class": "tests.models.helpers:TinyNet", "init_args": {"labels": 3}}))
    return folder
