"""Batched inference over DICOM files or a dataset manifest, with the run's environment recorded.

A DataLoader with workers reads and preprocesses while the model runs; batches go to the
GPU from pinned memory; the forward pass runs under `torch.inference_mode` with bf16 (or
fp16) autocast on CUDA and in fp32 on CPU unless bf16 is asked for; a precision other than
fp32 runs only where the model card states its repeatability limit (when the card states
any); cuDNN is held deterministic. A case is a DICOM image, or for a study model a study
index (`qms.models.study`) read into its (C, D, H, W) volume stack. A case that cannot
be read is reported with its reason (validation counts it as an error, not an exclusion)
and its row of probabilities is NaN.
"""

from __future__ import annotations

import itertools
import platform
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pydicom
import torch
from torch.utils.data import DataLoader, Dataset

from qms.compute.engine import Engine
from qms.hashing import sha256_file
from qms.models.card import ModelCard, ModelKind, Precision
from qms.models.errors import InputError, ModelError
from qms.models.labelled import LabelledSet
from qms.models.loaders import LoadedModel
from qms.models.preprocess import to_tensor
from qms.models.study import study_tensor

__all__ = [
    "AUTOCAST", "CaseReader", "InferenceResult", "PRECISIONS", "batch_probabilities", "check_precision", "environment",
    "predict", "predict_manifest", "resolve_device", "resolve_precision",
]

PRECISIONS = ("fp32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
AUTOCAST = _DTYPES
"""The autocast dtype of each reduced precision (fp32 runs without autocast)."""


@dataclass(frozen=True)
class CaseReader:
    """One case file to the model's input, as its card says: an image (C, H, W) or a study (C, D, H, W)."""

    card: ModelCard

    def __call__(self, path: Path) -> torch.Tensor:
        if self.card.study is not None:
            return study_tensor(path, self.card.study, self.card.input)
        return to_tensor(path, self.card.input)

_Item = tuple[int, torch.Tensor | None, str | None]


class _Files(Dataset[_Item]):
    """Each item: (index, tensor or None, failure reason or None); a bad file never stops the run."""

    def __init__(self, files: Sequence[Path], reader: CaseReader) -> None:
        self.files, self.reader = list(files), reader

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> _Item:
        try:
            return index, self.reader(self.files[index]), None
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
    """fp32 on CPU; bf16 on a CUDA device that supports it, else fp16; an explicit choice is checked.

    bf16 autocast also runs on CPU when asked for; fp16 autocast is for CUDA only.
    """
    if precision is None:
        if device.type != "cuda":
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}", hint=f"one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type != "cuda":
        raise ModelError(f"precision fp16 is for CUDA; on {device.type} use fp32 or bf16")
    return precision


def check_precision(card: ModelCard, precision: str) -> None:
    """A card that states repeatability limits allows only the precisions it states a limit for (fp32 always)."""
    if precision != "fp32" and card.precision_limits and Precision(precision) not in card.precision_limits:
        stated = ", ".join(sorted(p.value for p in card.precision_limits))
        raise ModelError(f"the model card states no repeatability limit for {precision} (it states {stated})",
                         where="model_card.yaml precision_limits", hint="run in a stated precision, or state the limit")


def _version_of(module: str) -> str | None:
    """The loaded module's own version; else its installed distribution's (importing it would cost seconds)."""
    loaded = sys.modules.get(module)
    if loaded is not None:
        return str(getattr(loaded, "__version__", None))
    try:
        return version(module)
    except PackageNotFoundError:
        return None


def environment(device: torch.device, precision: str, batch_size: int, workers: int) -> dict[str, Any]:
    """What a validation report states about the run: device, libraries, precision, batching.

    transformers' version is the loaded module's when a transformers model ran, else its installed metadata's:
    a plain-torch model's command does not import it."""
    cuda = device.type == "cuda"
    return {
        "device": str(device), "device_name": torch.cuda.get_device_name(device) if cuda else platform.processor() or platform.machine(),
        "cuda": torch.version.cuda if cuda else None,
        "cudnn": torch.backends.cudnn.version() if cuda else None,  # type: ignore[no-untyped-call]
        "precision": precision, "batch_size": batch_size, "workers": workers,
        "torch": torch.__version__, "transformers": _version_of("transformers"), "pydicom": pydicom.__version__,
        "numpy": np.__version__, "python": platform.python_version(), "deterministic": True,
    }


def _scores(model: LoadedModel, pixels: torch.Tensor, dev: torch.device, prec: str) -> npt.NDArray[np.float32]:
    """Sigmoid probabilities of one preprocessed batch (call under `_deterministic` and inference mode)."""
    with torch.autocast(dev.type, dtype=_DTYPES[prec]) if prec in _DTYPES else nullcontext():
        logits = model.logits(pixels.to(dev, non_blocking=True))
    return torch.sigmoid(logits.float()).cpu().numpy()


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
    device: str | torch.device | None = None, precision: str | None = None, engine: Engine | None = None,
) -> InferenceResult:
    """Probabilities per label for every file, in input order; unreadable files reported in `failures`.

    With an `engine` (`qms.compute`), its workers preprocess and its actor pool runs the model (one GPU per
    actor where the cluster has GPUs); the environment then states the cluster too.
    """
    if batch_size < 1 or workers < 0:
        raise ModelError(f"batch_size must be >= 1 and workers >= 0 (got {batch_size}, {workers})")
    if model.kind is ModelKind.GENERATOR:
        raise ModelError(f"{model.ref} writes reports; it has no per-label probabilities",
                         where=f"model:{model.ref}", hint="generate its reports (qms.models.generation)")
    if engine is not None:
        return _predict_on(engine, model, files, batch_size, device, precision)
    dev = resolve_device(device)
    prec = resolve_precision(dev, precision)
    check_precision(model.card, prec)
    loader = DataLoader(_Files(files, CaseReader(model.card)), batch_size=batch_size, num_workers=workers,
                        collate_fn=_collate, pin_memory=dev.type == "cuda", shuffle=False)
    probabilities = np.full((len(files), len(model.labels)), np.nan, dtype=np.float64)
    failures: dict[int, str] = {}
    model.module.to(dev).eval()
    with _deterministic(), torch.inference_mode():
        for batch in loader:
            failures.update(batch.failures)
            if batch.pixels is not None:
                probabilities[batch.indices] = _scores(model, batch.pixels, dev, prec)
    return InferenceResult(model_ref=model.ref, model_digest=model.digest, labels=model.labels,
                           cases=tuple(str(f) for f in files), probabilities=probabilities,
                           failures=dict(sorted(failures.items())),
                           environment=environment(dev, prec, batch_size, workers))


def batch_probabilities(model: LoadedModel, pixels: torch.Tensor, *, device: str | torch.device | None = None,
                        precision: str | None = None) -> npt.NDArray[np.float32]:
    """Per-label probabilities of one batch preprocessed by the caller (`qms.models.preprocess.dataset_tensor`),
    under `predict`'s rules: its device and precision choice, the card's precision limits, deterministic cuDNN,
    inference mode. For a caller that holds its images in memory (`qms api serve`) and writes no file."""
    if model.kind is ModelKind.GENERATOR:
        raise ModelError(f"{model.ref} writes reports; it has no per-label probabilities", where=f"model:{model.ref}")
    dev = resolve_device(device)
    prec = resolve_precision(dev, precision)
    check_precision(model.card, prec)
    _ready(model.module, dev)
    with _deterministic(), torch.inference_mode():
        return _scores(model, pixels, dev, prec)


def _ready(module: torch.nn.Module, dev: torch.device) -> None:
    """The module on `dev` in eval mode. Called per request: `to` walks every parameter (~0.3 ms for the example
    ViT), so it runs only when the first tensor is elsewhere (`to` moves them all together) or the module trains."""
    first = next(itertools.chain(module.parameters(), module.buffers()), None)
    if module.training or (first is not None and (first.device.type != dev.type
                                                  or dev.index not in (None, first.device.index))):
        module.to(dev).eval()


def predict_manifest(
    model: LoadedModel, manifest: LabelledSet, root: Path, *, batch_size: int = 32, workers: int = 0,
    device: str | torch.device | None = None, precision: str | None = None, engine: Engine | None = None,
) -> InferenceResult:
    """`predict` over a dataset manifest's files under `root`, rows in manifest order, cases named as in it.

    A file whose bytes differ from the manifest's hash is a failed case, not a prediction.
    """
    files = [root / e.file for e in manifest.entries]
    result = predict(model, files, batch_size=batch_size, workers=workers, device=device, precision=precision,
                     engine=engine)
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


_Prepared = tuple[int, npt.NDArray[np.float32] | None, str | None]
_Scored = tuple[list[int], npt.NDArray[np.float32], dict[str, Any]]


@dataclass(frozen=True)
class _Preprocess:
    """An engine's per-file work: one case file to the model's input array, or the reason it cannot be."""

    reader: CaseReader

    def __call__(self, item: tuple[int, Path]) -> _Prepared:
        index, path = item
        try:
            return index, self.reader(path).numpy(), None
        except InputError as exc:
            return index, None, exc.diagnostics()


@dataclass(frozen=True)
class _Scorer:
    """The model on one actor, on its GPU when it was given one: (indices, batch) -> (indices, probabilities, env)."""

    model: LoadedModel
    device: str | torch.device | None
    precision: str | None
    batch_size: int

    def __call__(self, batch: tuple[list[int], npt.NDArray[np.float32]]) -> _Scored:
        indices, pixels = batch
        dev = resolve_device(self.device)
        prec = resolve_precision(dev, self.precision)
        check_precision(self.model.card, prec)
        self.model.module.to(dev).eval()
        with _deterministic(), torch.inference_mode():
            scores = _scores(self.model, torch.from_numpy(pixels), dev, prec)
        return indices, scores, environment(dev, prec, self.batch_size, 0)


@dataclass(frozen=True)
class _ScorerFactory:
    scorer: _Scorer

    def __call__(self) -> _Scorer:
        return self.scorer


def _batches(prepared: Iterator[_Prepared], size: int, failures: dict[int, str]
             ) -> Iterator[tuple[list[int], npt.NDArray[np.float32]]]:
    """Preprocessed files, as they come, into model batches; a failed file goes to `failures` instead."""
    indices: list[int] = []
    arrays: list[npt.NDArray[np.float32]] = []
    for index, array, reason in prepared:
        if array is None:
            failures[index] = str(reason)
            continue
        indices.append(index)
        arrays.append(array)
        if len(indices) == size:
            yield indices, np.stack(arrays)
            indices, arrays = [], []
    if indices:
        yield indices, np.stack(arrays)


def _predict_on(engine: Engine, model: LoadedModel, files: Sequence[Path], batch_size: int,
                device: str | torch.device | None, precision: str | None) -> InferenceResult:
    probabilities = np.full((len(files), len(model.labels)), np.nan, dtype=np.float64)
    failures: dict[int, str] = {}
    prepared = engine.map(_Preprocess(CaseReader(model.card)), list(enumerate(files)))
    env: dict[str, Any] = {}
    factory = _ScorerFactory(_Scorer(model, device, precision, batch_size))
    for indices, scores, env in engine.pool(factory, _batches(prepared, batch_size, failures)):
        probabilities[indices] = scores
    if not env:  # no file could be read: state the device this process would have used
        dev = resolve_device(device)
        env = environment(dev, resolve_precision(dev, precision), batch_size, 0)
    return InferenceResult(model_ref=model.ref, model_digest=model.digest, labels=model.labels,
                           cases=tuple(str(f) for f in files), probabilities=probabilities,
                           failures=dict(sorted(failures.items())),
                           environment={**env, "workers": engine.workers, "cluster": engine.cluster()})
