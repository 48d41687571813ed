"""A DICOM image to the tensor a model was trained on: the displayed image, resized and normalised.

The image is first presented as the standard says (`qms.models.display`: PS3.4 Annex N),
then given the model's channels, resized without distorting the patient (pixel spacing
honoured) and normalised as the model card states.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pydicom.dataset import Dataset

from qms.models.card import InputRequirements
from qms.models.display import display_image, read_dataset
from qms.models.errors import InputError
from qms.models.transforms import FloatArray, VoiFunction, Window

__all__ = ["dataset_tensor", "normalise", "resize_pad", "to_tensor"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as PS3.3 §C.7.6.3.1.2 defines Y


def resize_pad(image: FloatArray, size: int, *, aspect: float = 1.0) -> torch.Tensor:
    """Fit a (C, H, W) image into size x size without distortion: scale the long side, pad the short one.

    `aspect` is the physical height of a pixel over its width (PixelSpacing row / column),
    so anisotropic pixels come out with the patient's true proportions. Padding is 0 (black).
    """
    if image.ndim != 3 or image.shape[1] < 1 or image.shape[2] < 1:
        raise InputError(f"expected a (channels, rows, columns) image, got shape {image.shape}")
    _, rows, cols = image.shape
    height, width = rows * aspect, float(cols)
    scale = size / max(height, width)
    new_h = max(1, min(size, round(height * scale)))
    new_w = max(1, min(size, round(width * scale)))
    x = torch.from_numpy(np.ascontiguousarray(image))[None]
    if (new_h, new_w) != (rows, cols):
        antialias = new_h < rows or new_w < cols
        x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=antialias)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    x = F.pad(x, (left, size - new_w - left, top, size - new_h - top), value=0.0)
    return x[0].clamp_(0.0, 1.0)


def normalise(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """(x - mean) / std per channel, as the model card states."""
    m = torch.tensor(mean, dtype=x.dtype).view(-1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype).view(-1, 1, 1)
    return (x - m) / s


def _channels(pixels: FloatArray, channels: int) -> FloatArray:
    if pixels.shape[0] == channels:
        return pixels
    if channels == 1:
        return np.tensordot(_LUMA, pixels, axes=1)[None].astype(np.float32)
    return np.repeat(pixels, channels, axis=0)


def to_tensor(path: Path, spec: InputRequirements) -> torch.Tensor:
    """One DICOM file to a (channels, size, size) float32 tensor as the model card's input section says."""
    return dataset_tensor(read_dataset(path), spec, str(path))


def dataset_tensor(ds: Dataset, spec: InputRequirements, where: str) -> torch.Tensor:
    """`to_tensor` of a dataset already read (from a file or from bytes); `where` names it in a diagnosis."""
    if spec.modalities and str(ds.get("Modality", "")).strip() not in spec.modalities:
        raise InputError(f"Modality {str(ds.get('Modality', '')).strip()!r} is not one the model accepts",
                         where=f"{where} (0008,0060)", hint=f"the model card accepts {', '.join(spec.modalities)}")
    override = Window(spec.window.center, spec.window.width, VoiFunction(spec.window.function)) if spec.window else None
    try:
        image = display_image(ds, where, override=override)
    except (ValueError, KeyError, AttributeError, TypeError, IndexError) as exc:
        raise InputError(f"the image attributes do not allow the pixel pipeline (PS3.4 Annex N): {exc}", where=where,
                         hint="check the Modality LUT, VOI and image pixel module attributes") from exc
    fitted = resize_pad(_channels(image.pixels, spec.channels), spec.image_size, aspect=image.aspect)
    tensor: torch.Tensor = normalise(fitted, spec.mean, spec.std)
    return tensor
