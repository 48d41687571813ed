"""A multi-sequence study (e.g. T1, T2, FLAIR) to the (C, D, H, W) tensor a study model takes, as its card states.

A study is a study index (`study.json`): for each sequence, its series' files with their
sha256, so a dataset manifest that hashes the index covers every slice. Each series is
ordered along its slice normal (`qms.models.volume`, never by file order), resampled to
the card's spacing, centred in the card's shape (cropped or zero-padded), z-scored, and
stacked in the card's channel order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np
import numpy.typing as npt
import torch

from qms.atomic import write_text
from qms.hashing import canonical_json, sha256_file, sha256_hex
from qms.models.card import InputRequirements, StudySpec
from qms.models.errors import InputError
from qms.models.volume import Volume, load_series

__all__ = ["INDEX_FILE", "read_index", "resample", "resample_axis", "study_tensor", "write_index"]

INDEX_FILE = "study.json"


def write_index(study: Path, sequences: Sequence[str]) -> Path:
    """Index a study folder whose sub-folder per sequence holds that series' DICOM files; returns the index."""
    index: dict[str, list[dict[str, str]]] = {}
    for name in sequences:
        files = sorted(p for p in (study / name).glob("*") if p.is_file())
        if not files:
            raise InputError(f"the study has no files for sequence {name!r}", where=str(study / name))
        index[name] = [{"file": p.relative_to(study).as_posix(), "sha256": sha256_file(p)} for p in files]
    path = study / INDEX_FILE
    write_text(path, canonical_json({"sequences": index}).decode() + "\n")
    return path


def read_index(path: Path, sequences: Sequence[str]) -> dict[str, list[Path]]:
    """Each named sequence's files, after checking every file's bytes against the index."""
    return {name: [file for file, _ in series] for name, series in _verified(path, sequences).items()}


def _verified(path: Path, sequences: Sequence[str]) -> dict[str, list[tuple[Path, bytes]]]:
    """Each named sequence's files with their bytes, every file read once and checked against the index.

    The bytes checked are the bytes then parsed (`load_series(files, contents)`): no second
    read, and no window in which a file could change between its check and its use.
    """
    where = str(path)
    try:
        listed = json.loads(path.read_text(encoding="utf-8"))["sequences"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"not a study index: {exc}", where=where, hint=f"write one with write_index ({INDEX_FILE})") from exc
    out: dict[str, list[tuple[Path, bytes]]] = {}
    for name in sequences:
        if name not in listed:
            raise InputError(f"the study has no {name} series; the model needs {', '.join(sequences)}", where=where)
        files = []
        for entry in listed[name]:
            relative = PurePosixPath(str(entry["file"]))
            if relative.is_absolute() or ".." in relative.parts:
                raise InputError(f"study file {relative} is outside the study folder", where=where)
            file = path.parent / relative
            content = _content(file)
            if content is None or sha256_hex(content) != entry["sha256"]:
                raise InputError("the file is missing or differs from the study index", where=str(file))
            files.append((file, content))
        out[name] = files
    return out


def _content(file: Path) -> bytes | None:
    """The file's bytes, None when it is missing or not a readable file (a folder is refused by open)."""
    try:
        with open(file, "rb") as f:
            return f.read()
    except OSError:
        return None


def resample_axis(x: npt.NDArray[np.float32], axis: int, size: int) -> npt.NDArray[np.float32]:
    """Linear interpolation of one axis to `size` samples, half-pixel centres (torch's align_corners=False)."""
    have = x.shape[axis]
    if have == size:
        return x
    src = np.maximum((np.arange(size, dtype=np.float64) + 0.5) * (have / size) - 0.5, 0.0)
    low = np.minimum(src.astype(np.intp), have - 1)
    high = np.minimum(low + 1, have - 1)
    shape = [1] * x.ndim
    shape[axis] = size
    weight = (src - low).astype(np.float32).reshape(shape)
    lower = np.take(x, low, axis=axis)
    out: npt.NDArray[np.float32] = np.take(x, high, axis=axis)
    out -= lower  # in place: the float32 operations of lower + (higher - lower) * weight, in its order
    out *= weight
    out += lower
    return out


def resample(volume: Volume, spec: StudySpec) -> npt.NDArray[np.float32]:
    """The volume at the card's spacing (trilinear), centred in the card's shape, z-scored: (D, H, W).

    Trilinear is separable, so it runs as one linear pass per axis (numpy, single-threaded:
    faster than torch's thread pool for volumes this size on a loaded machine).
    """
    x = volume.voxels
    sizes = [max(1, round(n * have / want)) for n, have, want in zip(x.shape, volume.spacing, spec.spacing, strict=True)]
    for axis in sorted(range(3), key=lambda a: sizes[a] / x.shape[a]):  # shrink first: later passes touch less
        x = resample_axis(x, axis, sizes[axis])
    out = np.zeros(spec.shape, dtype=np.float32)
    src, dst = [], []
    for have_n, want_n in zip(x.shape, spec.shape, strict=True):
        take = min(have_n, want_n)
        start, offset = (have_n - take) // 2, (want_n - take) // 2
        src.append(slice(start, start + take))
        dst.append(slice(offset, offset + take))
    out[tuple(dst)] = x[tuple(src)]
    std = float(out.std())
    out -= out.mean()
    if std > 1e-6:
        out /= std
    return out


def study_tensor(path: Path, spec: StudySpec, model_input: InputRequirements) -> torch.Tensor:
    """A study index to the (C, D, H, W) float32 tensor, channels in the card's sequence order."""
    series = _verified(path, spec.sequences)
    stacked = np.empty((len(spec.sequences), *spec.shape), dtype=np.float32)
    for c, name in enumerate(spec.sequences):
        volume = load_series([f for f, _ in series[name]], [content for _, content in series[name]])
        if volume.modality not in model_input.modalities:
            raise InputError(f"the {name} series' Modality {volume.modality!r} is not one the model accepts",
                             where=f"{volume.files[0]} (0008,0060)")
        stacked[c] = resample(volume, spec)
    # in place: the same float32 differences and quotients as (stacked - mean) / std
    stacked -= np.asarray(model_input.mean, dtype=np.float32).reshape(-1, 1, 1, 1)
    stacked /= np.asarray(model_input.std, dtype=np.float32).reshape(-1, 1, 1, 1)
    return torch.from_numpy(stacked)
