"""Turning a model folder into a module: image classifiers, study models, report generators, LoRA adapters.

Local files only, never remote code: a transformers folder is read with AutoConfig and
AutoModelForImageClassification from safetensors weights; a torch folder names an
importable class whose state dict is in safetensors (a 2-D classifier, or a study model
over (C, D, H, W) volumes when the card has a study section); an image-to-text folder
holds a vision encoder-decoder and its tokenizer (`qms.models.image_to_text`); a LoRA
folder holds an adapter merged onto its already loaded base (`qms.models.adapters`).
Classifiers are multi-label: one sigmoid output per label, labels named by the config
(transformers) or the card, and the two must agree with the card.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from qms.models.adapters import apply_adapter
from qms.models.card import CARD_FILE, ModelCard, ModelFormat, ModelKind
from qms.models.errors import ModelError
from qms.models.hf import CONFIG_FILE, check_fit, quiet_transformers
from qms.models.image_to_text import load_image_to_text, next_token_width

__all__ = ["CONFIG_FILE", "LoadedModel", "load_folder", "quiet_transformers"]  # the first and last re-exported from hf



@dataclass
class LoadedModel:
    """A module ready for inference, with what inference needs to know about it."""

    ref: str
    digest: str
    card: ModelCard
    module: torch.nn.Module
    labels: tuple[str, ...]
    _forward: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]
    tokenizer: Any = None

    @property
    def kind(self) -> ModelKind:
        return self.card.kind

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """(N, labels) logits of a (N, C, H, W) image or (N, C, D, H, W) study batch preprocessed as the card says."""
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
    check_fit(info, weights)
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


def _probe(card: ModelCard) -> torch.Tensor:
    spec = card.input
    if card.study is not None:
        return torch.zeros(1, spec.channels, *card.study.shape)
    return torch.zeros(1, spec.channels, spec.image_size, spec.image_size)


def _check_outputs(card: ModelCard, module: torch.nn.Module, labels: tuple[str, ...], tokenizer: Any,
                   forward: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor], where: str) -> None:
    """One forward pass on a blank input of the card's shape: the model takes it and answers as wide as it should."""
    probe = _probe(card)
    with torch.inference_mode():
        try:
            width = next_token_width(module, probe) if tokenizer is not None else forward(module, probe).shape[-1]
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"the model does not accept the card's input ({'x'.join(map(str, probe.shape[1:]))}): "
                             f"{str(exc).splitlines()[0]}", where=where) from exc
    if tokenizer is not None and width < len(tokenizer):
        raise ModelError(f"the decoder scores {width} tokens but the tokenizer has {len(tokenizer)}", where=where)
    if tokenizer is None and width != len(labels):
        raise ModelError(f"the model has {width} outputs but the card names {len(labels)} labels", where=where)


def load_folder(folder: Path, *, ref: str, digest: str, base: LoadedModel | None = None) -> LoadedModel:
    """Load and check a model folder whose files the caller has already verified against `digest`.

    A LoRA folder needs its `base`, loaded (and so hash-checked) by the caller; the result runs as the base does.
    """
    card = ModelCard.from_folder(folder)
    fmt = card.architecture.format
    where = str(folder / CARD_FILE)
    tokenizer: Any = None
    if fmt is ModelFormat.LORA:
        if base is None:
            raise ModelError("a LoRA adapter is loaded over its base model version, and none was given", where=ref,
                             hint="register the adapter with --parent naming the base version")
        if base.kind is not card.kind:
            raise ModelError(f"the adapter's card describes a {card.kind.value}, its base is a {base.kind.value}",
                             where=where)
        module, labels = apply_adapter(base.module, folder, _weights(folder, card)), card.output_labels
        forward, tokenizer = base._forward, base.tokenizer
    elif fmt is ModelFormat.IMAGE_TO_TEXT:
        module, tokenizer = load_image_to_text(folder, _weights(folder, card))
        labels, forward = card.output_labels, _plain_forward
    else:
        load, forward = _LOADERS[fmt]
        module, labels = load(folder, card)
    if labels != card.output_labels:
        source = CONFIG_FILE + " id2label" if fmt is ModelFormat.TRANSFORMERS else "the card"
        raise ModelError(f"the model's labels {list(labels)} (from {source}) differ from the card's output_labels "
                         f"{list(card.output_labels)}", where=where,
                         hint="the card and the config must name the same labels in the same order")
    if base is not None and labels != base.labels:
        raise ModelError(f"the fine-tune's labels {list(labels)} differ from its base's {list(base.labels)}", where=where)
    module.eval()
    _check_outputs(card, module, labels, tokenizer, forward, where)
    return LoadedModel(ref=ref, digest=digest, card=card, module=module, labels=labels, _forward=forward,
                       tokenizer=tokenizer)
