"""A recorded, reproducible training run: a seeded ViT or CNN fit on a dataset manifest, written as a model folder.

The run's identity is its inputs by hash (the manifest, the config, the parent model),
its seed and the git commit; its output is a complete model folder (a ViT's config, safetensors
weights, model card with the manifest hash filled in, lineage file) whose digest the
`TrainingRun` record holds, so registering that folder links the version to this run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from safetensors.torch import save_file

from qms import audit
from qms.atomic import write_text
from qms.hashing import canonical_json, digest_of, sha256_hex
from qms.models.card import CARD_FILE, Architecture, ModelCard, ModelFormat
from qms.models.errors import InputError, ModelError
from qms.models.fileset import FileSet
from qms.models.inference import environment
from qms.models.labelled import LabelledSet
from qms.models.loaders import LoadedModel, load_folder, quiet_transformers
from qms.models.nets import SmallCnn2d
from qms.models.preprocess import to_tensor
from qms.models.records import TrainingRun
from qms.models.registry import LINEAGE_FILE, LOADED_BACK
from qms.roc import roc_auc
from qms.store import Store
from qms.yamlfile import load

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = ["CnnShape", "Progress", "TrainConfig", "TrainOutcome", "VitShape", "fit", "load_config", "run_training"]


Progress = Callable[[int], None]
"""Called with the number of epochs done, so a CLI can show a bar; the library never prints."""


class VitShape(BaseModel):
    """The transformers ViTConfig fields a run may set (the rest keep ViT's defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    patch_size: int = Field(ge=2)
    hidden_size: int = Field(ge=8)
    num_hidden_layers: int = Field(ge=1)
    num_attention_heads: int = Field(ge=1)
    intermediate_size: int = Field(ge=8)


class CnnShape(BaseModel):
    """A plain torch CNN (`qms.models.nets:SmallCnn2d`): `blocks` strided convolutions, the first `width` wide."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    width: int = Field(ge=2, le=256, default=8, description="channels of the first convolution (each block doubles it)")
    blocks: int = Field(ge=1, le=6, default=2, description="strided 3x3 convolutions, each halving the image")


_CNN_CLASS = f"{SmallCnn2d.__module__}:{SmallCnn2d.__name__}"
_VIT_WEIGHTS = "model.safetensors"
"""What transformers' save_pretrained names a ViT's weights."""


class TrainConfig(BaseModel):
    """A training run's recipe, from YAML; the card template supplies inputs, labels and claims."""

    model_config = ConfigDict(extra="forbid", frozen=True,  # exactly one network, for editors too:
                              json_schema_extra={"oneOf": [{"required": [n], "properties": {n: {"type": "object"}}}
                                                           for n in ("vit", "cnn")]})
    seed: int
    card_template: str = Field(description="path of the model card template, relative to the config")
    vit: VitShape | None = Field(default=None, description="a transformers ViT (card format transformers); "
                                                           "give exactly one of vit and cnn")
    cnn: CnnShape | None = Field(default=None, description=f"a plain torch CNN (card format torch, torch_class "
                                                           f"{_CNN_CLASS}); give exactly one of vit and cnn")
    epochs: int = Field(ge=1, le=1000)
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    weight_decay: float = Field(ge=0, default=0.0)
    tuning_fraction: float = Field(ge=0.05, le=0.5, default=0.15)
    threads: int = Field(ge=1, default=1, description="CPU threads: part of the recipe, since float sums depend on it")
    parent: str | None = Field(default=None, description="name@version of a registered model to fine-tune")

    @model_validator(mode="after")
    def _one_network(self) -> TrainConfig:
        if (self.vit is None) == (self.cnn is None):
            raise ValueError("give exactly one network: vit (a transformers ViT) or cnn (a plain torch CNN)")
        return self

    def architecture(self, card: ModelCard) -> Architecture:
        """The card's architecture section this recipe's network is saved under."""
        if self.cnn is None:
            return Architecture(format=ModelFormat.TRANSFORMERS, weights=_VIT_WEIGHTS)
        return Architecture(format=ModelFormat.TORCH, weights=card.architecture.weights, torch_class=_CNN_CLASS,
                            init_args={"channels": card.input.channels, "labels": len(card.output_labels),
                                       **self.cnn.model_dump()})


def load_config(path: Path) -> tuple[TrainConfig, ModelCard, dict[str, Any]]:
    """The config, its card template, and the config's canonical form (what the run's hash is over)."""
    doc = load(path, ModelError)
    try:
        config = TrainConfig.model_validate(doc.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = doc.where(tuple(first["loc"])) if first["loc"] and first["type"] != "missing" else str(path)
        field = f" field {'.'.join(map(str, first['loc']))!r}" if first["loc"] else ""
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ModelError(f"training config{field}: {message}", where=where) from exc
    template_path = path.parent / config.card_template
    template = ModelCard.from_file(template_path)
    built = _agreeing_architecture(config, template, template_path)
    card = template.model_copy(update={"architecture": built})
    return config, card, config.model_dump(mode="json", exclude={"cnn" if config.cnn is None else "vit"})


def _stated(arch: Architecture) -> str:
    return f"format {arch.format.value}{f' class {arch.torch_class}' if arch.torch_class else ''}, weights {arch.weights}"


def _agreeing_architecture(config: TrainConfig, template: ModelCard, where: Path) -> Architecture:
    """The architecture the recipe's network is saved under, refused unless the card template states the same."""
    built, stated = config.architecture(template), template.architecture
    differing = sorted(k for k, v in stated.init_args.items() if built.init_args.get(k, object()) != v)
    if _stated(built) != _stated(stated) or differing:
        wanted = {k: v for k, v in built.model_dump(mode="json").items() if k != "init_args" and v is not None}
        raise ModelError(f"the recipe trains {'cnn' if config.cnn is not None else 'vit'!r}, saved as "
                         f"{_stated(built)}; the card template says {_stated(stated)}"
                         f"{f', init_args {differing} other than the recipe' if differing else ''}", where=str(where),
                         hint=f"set the template's architecture to {wanted}"
                              f"{' (training fills init_args from the recipe)' if config.cnn is not None else ''}")
    return built


@dataclass(frozen=True)
class TrainOutcome:
    run: TrainingRun
    folder: Path
    metrics: dict[str, Any]


def _tensors(manifest: LabelledSet, root: Path, card: ModelCard) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    labels = card.output_labels
    missing = [n for n in labels if n not in manifest.label_names]
    if missing:
        raise ModelError(f"the manifest has no label {missing[0]!r} that the card names",
                         where=f"manifest {manifest.sha256[:12]}", hint=f"manifest labels: {', '.join(manifest.label_names)}")
    manifest.verify_files(root)
    xs, ys, patients = [], [], []
    for entry in manifest.entries:
        if any(entry.labels[n] is None for n in labels):
            raise InputError("a training case has a missing label", where=entry.file)
        xs.append(to_tensor(root / entry.file, card.input))
        ys.append([float(entry.labels[n] or 0) for n in labels])
        patients.append(entry.patient_id)
    return torch.stack(xs), torch.tensor(ys), patients


def _tuning_mask(patients: list[str], fraction: float, seed: int) -> np.ndarray:
    """A patient-level hold-out, so no patient is in both the fit and the tuning figures."""
    unique = sorted(set(patients))
    rng = np.random.default_rng(seed)
    held = set(rng.permutation(unique)[: max(1, round(len(unique) * fraction))].tolist())
    return np.array([p in held for p in patients])


def _model(config: TrainConfig, card: ModelCard, parent: LoadedModel | None) -> torch.nn.Module:
    """The network to fit: new, or starting from the parent's weights wherever their names and shapes agree."""
    model = _vit(config.vit, card) if config.vit is not None else SmallCnn2d(**card.architecture.init_args)
    if parent is not None:
        own = model.state_dict()
        fitting = {k: v for k, v in parent.module.state_dict().items() if k in own and own[k].shape == v.shape}
        if not fitting:
            raise ModelError(f"no weight of {parent.ref} fits the recipe's network: a fine-tune would start from "
                             "scratch", where=parent.ref, hint="give the recipe the parent's network and shape")
        model.load_state_dict(fitting, strict=False)
    return model


def _vit(shape: VitShape, card: ModelCard) -> PreTrainedModel:
    from transformers import ViTConfig, ViTForImageClassification

    labels = card.output_labels
    fields: dict[str, Any] = {
        "image_size": card.input.image_size, "num_channels": card.input.channels, "num_labels": len(labels),
        "id2label": dict(enumerate(labels)), "label2id": {n: i for i, n in enumerate(labels)},
        "problem_type": "multi_label_classification", **shape.model_dump()}
    return ViTForImageClassification(ViTConfig(**fields))


def _network(card: ModelCard) -> str:
    arch = card.architecture
    return f"{arch.format.value} {arch.torch_class}" if arch.torch_class else arch.format.value


def _logits(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    out = model(x) if isinstance(model, SmallCnn2d) else model(pixel_values=x).logits
    return out  # type: ignore[no-any-return]


def _auroc(y: np.ndarray, p: np.ndarray, labels: tuple[str, ...]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for j, name in enumerate(labels):
        out[name] = roc_auc(y[:, j], p[:, j]) if len(set(y[:, j].tolist())) == 2 else None
    return out


def fit(config: TrainConfig, card: ModelCard, x: torch.Tensor, y: torch.Tensor, tuning: np.ndarray,
        parent: LoadedModel | None, progress: Progress | None = None) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Seeded AdamW fit with BCE loss; returns the model and its tuning-set AUROC per label."""
    with _threads(config.threads):
        return _fit(config, card, x, y, tuning, parent, progress)


@contextmanager
def _threads(count: int) -> Iterator[None]:
    saved = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def _fit(config: TrainConfig, card: ModelCard, x: torch.Tensor, y: torch.Tensor, tuning: np.ndarray,
         parent: LoadedModel | None, progress: Progress | None) -> tuple[torch.nn.Module, dict[str, Any]]:
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = _model(config, card, parent)
    fit_idx = torch.from_numpy(np.flatnonzero(~tuning))
    optimiser = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps = config.epochs * -(-len(fit_idx) // config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.learning_rate, total_steps=steps)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    for epoch in range(1, config.epochs + 1):
        order = fit_idx[torch.randperm(len(fit_idx), generator=generator)]
        for start in range(0, len(order), config.batch_size):
            batch = order[start:start + config.batch_size]
            loss = loss_fn(_logits(model, x[batch]), y[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
        if progress is not None:
            progress(epoch)
    model.eval()
    with torch.inference_mode():
        probs = torch.sigmoid(_logits(model, x[torch.from_numpy(np.flatnonzero(tuning))])).numpy()
    tuning_auroc = _auroc(y.numpy()[tuning], probs, card.output_labels)
    return model, {"tuning_auroc": tuning_auroc, "fit_cases": int(len(fit_idx)), "tuning_cases": int(tuning.sum()),
                   "final_loss": float(loss.item())}


def run_training(
    store: Store, config_path: Path, manifest: LabelledSet, root: Path, out: Path, *, actor: str,
    git_commit: str | None, git_dirty: bool, parent: LoadedModel | None = None, progress: Progress | None = None,
) -> TrainOutcome:
    """Train, write the model folder at `out` (which must not exist) atomically, and record the run.

    The written folder is loaded back (`load_folder`) before the run is recorded, so registering
    exactly these files need not load them again (`qms.models.registry.LOADED_BACK`).
    """
    config, template, config_json = load_config(config_path)
    if out.exists():
        raise ModelError("the output folder already exists", where=str(out), hint="training writes a new folder only")
    if (parent is None) != (config.parent is None) or (parent is not None and parent.ref != config.parent):
        raise ModelError(f"the config names parent {config.parent!r}; the caller loaded {parent.ref if parent else None!r}",
                         where=str(config_path))
    if parent is not None and ModelFormat.TORCH in (parent.card.architecture.format, template.architecture.format) \
            and _network(parent.card) != _network(template):
        raise ModelError(f"the recipe fine-tunes {parent.ref}, a {_network(parent.card)} network, into a "
                         f"{_network(template)}: its weights would not carry over", where=str(config_path),
                         hint="fine-tune a parent of the recipe's own network (vit: transformers; cnn: "
                              f"{_CNN_CLASS})")
    x, y, patients = _tensors(manifest, root, template)
    model, metrics = fit(config, template, x, y, _tuning_mask(patients, config.tuning_fraction, config.seed), parent,
                         progress)
    card = template.model_copy(update={"training_data": template.training_data.model_copy(update={
        "summary": f"{len(patients)} images of {len(set(patients))} patients, manifest {manifest.name!r} "
                   f"split {manifest.split!r}; {metrics['tuning_cases']} images of held-out patients tuned on",
        "manifest_sha256": manifest.sha256})})
    metrics = {**metrics, LOADED_BACK: True}  # recorded only if the load below succeeds
    run = TrainingRun(config=canonical_json(config_json).decode(), config_digest=digest_of(config_json),
                      seed=config.seed, manifest_sha256=manifest.sha256, git_commit=git_commit, git_dirty=git_dirty,
                      parent=parent.ref if parent else None, parent_digest=parent.digest if parent else None,
                      output_digest="", metrics=canonical_json(metrics).decode(),
                      environment=canonical_json({**environment(torch.device("cpu"), "fp32", config.batch_size, 0),
                                                  "threads": config.threads}).decode(), actor=actor)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        if isinstance(model, SmallCnn2d):
            save_file(model.state_dict(), str(staging / card.architecture.weights))
        else:
            with quiet_transformers():
                cast("PreTrainedModel", model).save_pretrained(staging)
        write_text(staging / CARD_FILE, yaml.safe_dump(card.to_json(), sort_keys=False, allow_unicode=True))
        write_text(staging / LINEAGE_FILE, canonical_json({"training_run_id": run.id}).decode() + "\n")
        for written in (staging, *staging.iterdir()):  # mkdtemp/mkstemp make 0700/0600: a model folder is for reading
            written.chmod(0o755 if written.is_dir() else 0o644)
        run.output_digest = FileSet.of_folder(staging).digest
        load_folder(staging, ref=f"training-run:{run.id}", digest=run.output_digest)
        with store.transaction() as session:
            session.add(run)
            audit.append(session, audit.EventSpec(
                actor, "model.train", f"training-run:{run.id}", after=run.output_digest,
                details={"manifest_sha256": manifest.sha256, "config_digest": run.config_digest, "seed": run.seed,
                         "git_commit": git_commit, "parent": run.parent, "tuning_auroc": metrics["tuning_auroc"],
                         "git_dirty": git_dirty, "parent_digest": run.parent_digest,
                         "metrics_sha256": sha256_hex(run.metrics.encode()),
                         "environment_sha256": sha256_hex(run.environment.encode())}))
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return TrainOutcome(run=run, folder=out, metrics=metrics)
