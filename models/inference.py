"""Batched inference over DICOM files or a dataset manifest, with the run's environment recorded.

A DataLoader with workers reads and preprocesses while the model runs; batches go to the
GPU from pinned memory; the forward pass runs under `torch.inference_mode` with bf16 (or
fp16) autocast on CUDA and in fp32 on CPU; cuDNN is held deterministic. A case that cannot
be read is reported with its reason (validation counts it as an error, not an exclusion)
and its row of probabilities is NaN.
"""

from __future__ import annotations

import platform
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom
import torch
from torch.utils.data import DataLoader, Dataset

from qms.hashing import sha256_file
from qms.models.card import InputRequirements
from qms.models.errors import InputError, ModelError
from qms.models.labelled import LabelledSet
from qms.models.loaders import LoadedModel
from qms.models.preprocess import to_tensor

__all__ = [
    "InferenceResult", "PRECISIONS", "environment", "predict", "predict_manifest", "resolve_device",
    "resolve_precision",
]

PRECISIONS = ("fp32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

_Item = tuple[int, torch.Tensor | None, str | None]


class _Files(Dataset[_Item]):
    """Each item: (index, tensor or None, failure reason or None); a bad file never stops the run."""

    def __init__(self, files: Sequence[Path], spec: InputRequirements) -> None:
        self.files, self.spec = list(files), spec

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> _Item:
        try:
            return index, to_tensor(self.files[index], self.spec), None
        except InputError as exc:
            return index, None, exc.diagnostics()


@dataclass
class _Batch:
    indices: list[int]
    pixels: torch.Tensor | None
    failures: dict[int, str]

    def pin_memory(self) -> _Batch:
        if self.pixels is not None:
            self.pixels = self.pixels.pin_memory()
        return self


def _collate(items: list[_Item]) -> _Batch:
    good = [(i, t) for i, t, _ in items if t is not None]
    return _Batch([i for i, _ in good], torch.stack([t for _, t in good]) if good else None,
                  {i: str(reason) for i, t, reason in items if t is None})


@dataclass(frozen=True)
class InferenceResult:
    """Per-case probabilities (rows in input order, NaN for a failed case) and how they were made."""

    model_ref: str
    model_digest: str
    labels: tuple[str, ...]
    cases: tuple[str, ...]
    probabilities: npt.NDArray[np.float64]
    failures: dict[int, str]
    environment: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        rows = [None if i in self.failures else dict(zip(self.labels, map(float, row), strict=True))
                for i, row in enumerate(self.probabilities)]
        return {"model": self.model_ref, "model_digest": self.model_digest, "labels": list(self.labels),
                "cases": [{"case": c, "probabilities": r, "failure": self.failures.get(i)}
                          for i, (c, r) in enumerate(zip(self.cases, rows, strict=True))],
                "environment": self.environment}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The GPU when there is one, unless told otherwise."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelError(f"device {resolved} was asked for, but this machine has no CUDA device", hint="use --device cpu")
    return resolved


def resolve_precision(device: torch.device, precision: str | None) -> str:
    """fp32 on CPU; bf16 on a CUDA device that supports it, else fp16; an explicit choice is checked."""
    if precision is None:
        if device.type != "cuda":
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}", hint=f"one of {', '.join(PRECISIONS)}")
    if precision != "fp32" and device.type != "cuda":
        raise ModelError(f"precision {precision} is for CUDA; on {device.type} inference runs in fp32")
    return precision


def environment(device: torch.device, precision: str, batch_size: int, workers: int) -> dict[str, Any]:
    """What a validation report states about the run: device, libraries, precision, batching."""
    import transformers

    cuda = device.type == "cuda"
    return {
        "device": str(device), "device_name": torch.cuda.get_device_name(device) if cuda else platform.processor() or platform.machine(),
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,  # type: ignore[no-untyped-call]
        "precision": precision, "batch_size": batch_size, "workers": workers,
        "torch": torch.__version__, "transformers": transformers.__version__, "pydicom": pydicom.__version__,
        "numpy": np.__version__, "python": platform.python_version(), "deterministic": True,
    }


@contextmanager
def _deterministic() -> Iterator[None]:
    """cuDNN deterministic and no autotuning for the run, restored afterwards (torch reproducibility notes)."""
    saved = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


def predict(
    model: LoadedModel, files: Sequence[Path], *, batch_size: int = 32, workers: int = 0,
    device: str | torch.device | None = None, precision: str | None = None,
) -> InferenceResult:
    """Probabilities per label for every file, in input order; unreadable files reported in `failures`."""
    if batch_size < 1 or workers < 0:
        raise ModelError(f"batch_size must be >= 1 and workers >= 0 (got {batch_size}, {workers})")
    dev = resolve_device(device)
    prec = resolve_precision(dev, precision)
    loader = DataLoader(_Files(files, model.card.input), batch_size=batch_size, num_workers=workers,
                        collate_fn=_collate, pin_memory=dev.type == "cuda", shuffle=False)
    probabilities = np.full((len(files), len(model.labels)), np.nan, dtype=np.float64)
    failures: dict[int, str] = {}
    model.module.to(dev).eval()
    with _deterministic(), torch.inference_mode():
        for batch in loader:
            failures.update(batch.failures)
            if batch.pixels is None:
                continue
            pixels = batch.pixels.to(dev, non_blocking=True)
            with torch.autocast(dev.type, dtype=_DTYPES[prec]) if prec in _DTYPES else nullcontext():
                logits = model.logits(pixels)
            probabilities[batch.indices] = torch.sigmoid(logits.float()).cpu().numpy()
    return InferenceResult(model_ref=model.ref, model_digest=model.digest, labels=model.labels,
                           cases=tuple(str(f) for f in files), probabilities=probabilities,
                           failures=dict(sorted(failures.items())),
                           environment=environment(dev, prec, batch_size, workers))


def predict_manifest(
    model: LoadedModel, manifest: LabelledSet, root: Path, *, batch_size: int = 32, workers: int = 0,
    device: str | torch.device | None = None, precision: str | None = None,
) -> InferenceResult:
    """`predict` over a dataset manifest's files under `root`, rows in manifest order, cases named as in it.

    A file whose bytes differ from the manifest's hash is a failed case, not a prediction.
    """
    files = [root / e.file for e in manifest.entries]
    result = predict(model, files, batch_size=batch_size, workers=workers, device=device, precision=precision)
    failures = dict(result.failures)
    probabilities = result.probabilities.copy()
    for i, (entry, path) in enumerate(zip(manifest.entries, files, strict=True)):
        if i not in failures and sha256_file(path) != entry.sha256:
            failures[i] = f"{path}: the file's content differs from the manifest (sha256 {entry.sha256[:12]}...)"
            probabilities[i] = np.nan
    return InferenceResult(model_ref=result.model_ref, model_digest=result.model_digest, labels=result.labels,
                           cases=tuple(e.file for e in manifest.entries), probabilities=probabilities,
                           failures=dict(sorted(failures.items())),
                           environment={**result.environment, "manifest_sha256": manifest.sha256})
