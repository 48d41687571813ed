"""A DICOM image as the standard says it is displayed, following its pixel pipeline; no torch.

PS3.3 §C.11 and PS3.4 Annex N order the steps: decode the stored values (any transfer
syntax pydicom and pylibjpeg decode), apply the Modality LUT or rescale, then the VOI LUT
or window, then present MONOCHROME1 inverted. Colour images are converted to RGB. Every
failure names the file and the tag. The model's tensor is made from this image
(`qms.models.preprocess`); near-duplicate hashing (`qms.validation.neardup`) uses it
without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi

from qms.models.errors import InputError
from qms.models.transforms import FloatArray, VoiFunction, Window, invert, rescale_to_unit, window

__all__ = [
    "COLOUR", "MONOCHROME", "PALETTE", "SUPPORTED_PHOTOMETRIC", "DisplayImage", "decode", "display_image", "read_dataset",
]

MONOCHROME = frozenset({"MONOCHROME1", "MONOCHROME2"})
COLOUR = frozenset({"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT"})
PALETTE = "PALETTE COLOR"
SUPPORTED_PHOTOMETRIC = MONOCHROME | COLOUR | {PALETTE}


@dataclass(frozen=True)
class DisplayImage:
    """An image as the standard says it is displayed: (channels, rows, columns) in [0, 1], 0 black."""

    pixels: FloatArray
    aspect: float
    photometric: str
    modality: str


def read_dataset(path: Path) -> Dataset:
    """Read a DICOM file, with a diagnosis naming it when it is not one."""
    try:
        return pydicom.dcmread(path)
    except InvalidDicomError as exc:
        raise InputError(f"not a DICOM file: {exc}", where=str(path)) from exc
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", where=str(path)) from exc
    except (ValueError, EOFError) as exc:
        raise InputError(f"the DICOM file is truncated or malformed: {exc}", where=str(path)) from exc


def _first(value: object) -> float:
    return float(value[0]) if isinstance(value, pydicom.multival.MultiValue) else float(value)  # type: ignore[arg-type]


def decode(ds: Dataset, where: str) -> np.ndarray:
    """The stored pixel values of a single-frame image, decoded from any supported transfer syntax."""
    if "PixelData" not in ds:
        other = next((k for k in ("FloatPixelData", "DoubleFloatPixelData") if k in ds), None)
        found = f"it has {other} instead, which is not supported" if other else "it has none"
        raise InputError(f"the file has no Pixel Data: {found}", where=f"{where} (7FE0,0010)",
                         hint="send the image object, not a report, presentation state or structured report")
    photometric = str(ds.get("PhotometricInterpretation", "")).strip()
    if photometric not in SUPPORTED_PHOTOMETRIC:
        raise InputError(f"unsupported Photometric Interpretation {photometric!r}", where=f"{where} (0028,0004)",
                         hint=f"supported: {', '.join(sorted(SUPPORTED_PHOTOMETRIC))}")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames != 1:
        raise InputError(f"a multi-frame image ({frames} frames) where a single image is expected",
                         where=f"{where} (0028,0008)", hint="use qms.models.volume for a series or a multi-frame volume")
    try:
        return np.asarray(ds.pixel_array)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is this case's failure, reported with its cause
        syntax = ds.file_meta.get("TransferSyntaxUID", "unknown") if hasattr(ds, "file_meta") else "unknown"
        raise InputError(f"cannot decode the pixel data (transfer syntax {syntax}): {exc}",
                         where=f"{where} (7FE0,0010)", hint="is a decoder for this transfer syntax installed?") from exc


def _grey_to_unit(ds: Dataset, stored: np.ndarray, override: Window | None, where: str) -> FloatArray:
    """Modality LUT, then VOI (override, VOI LUT Sequence, window, or the image's own range), PS3.4 Annex N."""
    values = apply_modality_lut(stored, ds)
    if override is not None:
        return window(values, override)
    if "VOILUTSequence" in ds:
        bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        return rescale_to_unit(apply_voi(values, ds), 0.0, float(2**bits - 1))
    if "WindowCenter" in ds and "WindowWidth" in ds:
        name = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip()
        try:
            function = VoiFunction(name)
        except ValueError as exc:
            raise InputError(f"unknown VOI LUT Function {name!r}", where=f"{where} (0028,1056)",
                             hint="LINEAR, LINEAR_EXACT or SIGMOID") from exc
        try:
            return window(values, Window(_first(ds.WindowCenter), _first(ds.WindowWidth), function))
        except InputError as exc:
            raise InputError(exc.message, where=f"{where} {exc.where}", hint=exc.hint) from exc
    return rescale_to_unit(values, float(np.min(values)), float(np.max(values)))


def _colour_to_unit(ds: Dataset, stored: np.ndarray, photometric: str) -> FloatArray:
    if photometric == PALETTE:
        rgb = apply_color_lut(stored, ds)
        top = float(2 ** int(ds.RedPaletteColorLookupTableDescriptor[2]) - 1)
    else:
        rgb = stored  # pydicom returns YBR_* decoded as RGB (PS3.3 §C.7.6.3.1.2)
        top = float(2 ** int(ds.BitsStored) - 1)
    return np.moveaxis(rescale_to_unit(rgb, 0.0, top), -1, 0)


def _aspect(ds: Dataset) -> float:
    """Pixel height over width: Pixel Spacing (0028,0030), Imager Pixel Spacing (0018,1164), or Pixel Aspect Ratio."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing"):
        spacing = ds.get(keyword)
        if spacing is not None and len(spacing) == 2 and float(spacing[0]) > 0 and float(spacing[1]) > 0:
            return float(spacing[0]) / float(spacing[1])
    ratio = ds.get("PixelAspectRatio")
    if ratio is not None and len(ratio) == 2 and float(ratio[1]) > 0:
        return float(ratio[0]) / float(ratio[1])
    return 1.0


def display_image(ds: Dataset, where: str, *, override: Window | None = None) -> DisplayImage:
    """Decode and present one image: [0, 1], 0 black, MONOCHROME1 inverted (PS3.3 §C.7.6.3.1.2)."""
    stored = decode(ds, where)
    photometric = str(ds.PhotometricInterpretation).strip()
    if photometric in MONOCHROME:
        unit = _grey_to_unit(ds, stored, override, where)
        if photometric == "MONOCHROME1" or str(ds.get("PresentationLUTShape", "")).strip() == "INVERSE":
            unit = invert(unit)
        pixels = unit[None]
    else:
        pixels = _colour_to_unit(ds, stored, photometric)
    return DisplayImage(pixels=pixels, aspect=_aspect(ds), photometric=photometric,
                        modality=str(ds.get("Modality", "")).strip())
