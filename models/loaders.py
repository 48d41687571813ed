"""Turning a model folder into a module: Hugging Face image classifiers and plain torch modules.

Local files only, never remote code: a transformers folder is read with AutoConfig and
AutoModelForImageClassification from safetensors weights; a torch folder names an
importable class whose state dict is in safetensors. Both are multi-label: one sigmoid
output per label, labels named by the config (transformers) or the card (torch), and
the two must agree with the card.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from qms.models.card import CARD_FILE, ModelCard, ModelFormat
from qms.models.errors import ModelError

__all__ = ["CONFIG_FILE", "LoadedModel", "load_folder", "quiet_transformers"]

CONFIG_FILE = "config.json"


@dataclass
class LoadedModel:
    """A module ready for inference, with what inference needs to know about it."""

    ref: str
    digest: str
    card: ModelCard
    module: torch.nn.Module
    labels: tuple[str, ...]
    _forward: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, labels) logits of a (N, C, H, W) batch already preprocessed as the card says."""
        return self._forward(self.module, batch)


def _hf_forward(module: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    return module(pixel_values=batch).logits  # type: ignore[no-any-return]


def _plain_forward(module: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    out = module(batch)
    return out.logits if hasattr(out, "logits") else out  # type: ignore[no-any-return]


def _weights(folder: Path, card: ModelCard) -> Path:
    path: Path = folder / card.architecture.weights
    if not path.is_file():
        raise ModelError(f"the model folder has no weights file {card.architecture.weights!r}", where=str(folder),
                         hint="weights must be safetensors, named as architecture.weights in the card")
    if path.suffix != ".safetensors":
        raise ModelError("weights must be a .safetensors file (pickled weights can run code)", where=str(path))
    return path


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """The library never prints: transformers' own progress bars are off while it loads."""
    from transformers.utils import logging as hf_logging

    was_enabled, verbosity = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if was_enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def _load_transformers(folder: Path, card: ModelCard) -> tuple[torch.nn.Module, tuple[str, ...]]:
    from transformers import AutoConfig, AutoModelForImageClassification

    if not (folder / CONFIG_FILE).is_file():
        raise ModelError(f"a transformers model folder needs {CONFIG_FILE}", where=str(folder))
    weights = _weights(folder, card)
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    except (ValueError, OSError, KeyError) as exc:
        raise ModelError(f"cannot read the model config: {exc}", where=str(folder / CONFIG_FILE)) from exc
    if getattr(config, "problem_type", None) != "multi_label_classification":
        raise ModelError(f"problem_type is {getattr(config, 'problem_type', None)!r}, not 'multi_label_classification'",
                         where=str(folder / CONFIG_FILE), hint="outputs are read as one sigmoid per label")
    labels = tuple(str(config.id2label[i]) for i in range(config.num_labels))
    try:
        with quiet_transformers():
            module, info = AutoModelForImageClassification.from_pretrained(
                folder, config=config, local_files_only=True, trust_remote_code=False, use_safetensors=True,
                output_loading_info=True,
            )
    except (ValueError, OSError, RuntimeError, SafetensorError) as exc:
        raise ModelError(f"cannot load the weights: {exc}", where=str(weights)) from exc
    problems = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    if problems:
        kind, keys = next(iter(problems.items()))
        raise ModelError(f"the weights do not fit the config: {kind.replace('_', ' ')} {sorted(map(str, keys))[:3]}",
                         where=str(weights))
    return module, labels


def _import_class(path: str, where: str) -> type[torch.nn.Module]:
    module_name, _, class_name = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ModelError(f"cannot import the model class {path!r}: {exc}", where=where,
                         hint="install the package that defines it") from exc
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise ModelError(f"{path!r} is not a torch.nn.Module class", where=where)
    return cls


def _load_torch(folder: Path, card: ModelCard) -> tuple[torch.nn.Module, tuple[str, ...]]:
    arch = card.architecture
    where = f"{folder / CARD_FILE} (architecture.torch_class)"
    cls = _import_class(str(arch.torch_class), where)
    weights = _weights(folder, card)
    try:
        module = cls(**arch.init_args)
        module.load_state_dict(load_file(weights), strict=True)
    except (SafetensorError, RuntimeError, TypeError) as exc:
        raise ModelError(f"the weights do not load into {arch.torch_class}: {str(exc).splitlines()[0]}",
                         where=str(weights)) from exc
    return module, card.output_labels


_LOADERS = {ModelFormat.TRANSFORMERS: (_load_transformers, _hf_forward), ModelFormat.TORCH: (_load_torch, _plain_forward)}


def load_folder(folder: Path, *, ref: str, digest: str) -> LoadedModel:
    """Load and check a model folder whose files the caller has already verified against `digest`."""
    card = ModelCard.from_folder(folder)
    load, forward = _LOADERS[card.architecture.format]
    module, labels = load(folder, card)
    if labels != card.output_labels:
        source = CONFIG_FILE + " id2label" if card.architecture.format is ModelFormat.TRANSFORMERS else "the card"
        raise ModelError(f"the model's labels {list(labels)} (from {source}) differ from the card's output_labels "
                         f"{list(card.output_labels)}", where=str(folder / CARD_FILE),
                         hint="the card and the config must name the same labels in the same order")
    module.eval()
    spec = card.input
    probe = torch.zeros(1, spec.channels, spec.image_size, spec.image_size)
    with torch.inference_mode():
        try:
            width = forward(module, probe).shape[-1]
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"the model does not accept the card's input ({spec.channels}x{spec.image_size}x"
                             f"{spec.image_size}): {str(exc).splitlines()[0]}", where=str(folder / CARD_FILE)) from exc
    if width != len(labels):
        raise ModelError(f"the model has {width} outputs but the card names {len(labels)} labels",
                         where=str(folder / CARD_FILE))
    return LoadedModel(ref=ref, digest=digest, card=card, module=module, labels=labels, _forward=forward)

