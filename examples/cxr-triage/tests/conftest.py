"""Synthetic inputs for the device's tests: tiny DICOM radiographs, a key, a small model.

Everything is generated in the test's own tmp_path from fixed seeds; no real patient data
is used anywhere (the names and identifiers below are made up).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
import torch
from pydicom.uid import generate_uid

from qms.deid.keying import DeidKey
from qms.models.card import InputRequirements, ModelCard
from qms.models.loaders import LoadedModel
from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image

CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"

MakeDicom = Callable[..., Path]


@pytest.fixture
def make_dicom(tmp_path: Path) -> MakeDicom:
    """Write a small synthetic CR radiograph; keyword arguments override header attributes."""
    counter = iter(range(10_000))

    def make(pixels: np.ndarray | None = None, *, name: str | None = None, **attributes: Any) -> Path:
        path = tmp_path / (name or f"img{next(counter)}.dcm")
        stored = np.arange(64, dtype=np.uint16).reshape(8, 8) * 64 if pixels is None else pixels
        ds = synthetic_image(stored.astype(np.uint16), modality="CR", sop_class=CR_IMAGE_STORAGE, bits_stored=12,
                             uids=SyntheticUids(generate_uid(), study=generate_uid(), series=generate_uid()),
                             patient=SyntheticPatient("SYN0001", name="SYNTHETIC^PATIENT"),
                             attributes={k: v for k, v in attributes.items() if v is not None})
        for keyword in (k for k, v in attributes.items() if v is None):
            delattr(ds, keyword)
        ds.save_as(path, enforce_file_format=True)
        return path

    return make


@pytest.fixture
def spec() -> InputRequirements:
    """The model card's input section: CR/DX, one channel, 16 x 16."""
    return InputRequirements(modalities=("CR", "DX"), image_size=16, channels=1, mean=(0.0,), std=(1.0,))


@pytest.fixture
def key() -> DeidKey:
    return DeidKey(b"synthetic-example-key-0123456789abcdef")


class _MeanBrightness(torch.nn.Module):
    """A fixed 'model': the logit is the image's mean brightness, so scores are predictable."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3)).unsqueeze(1)


@pytest.fixture
def tiny_model(spec: InputRequirements) -> LoadedModel:
    card = ModelCard.model_validate({
        "intended_use": "synthetic test model", "indications": ["test"], "contraindications": ["none"],
        "input": spec.model_dump(), "output_labels": ["pneumothorax"],
        "training_data": {"summary": "none: fixed weights", "manifest_sha256": "0" * 64},
        "performance_claims": [{"endpoint": "AUROC", "label": "pneumothorax", "claim": "n/a", "dataset": "none"}],
        "known_limitations": ["synthetic"],
        "architecture": {"format": "torch", "torch_class": "conftest:_MeanBrightness"},
    })
    return LoadedModel(ref="cxr-test@0", digest="0" * 64, card=card, module=_MeanBrightness(),
                       labels=("pneumothorax",), _forward=lambda module, batch: module(batch))


def read(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(path)
