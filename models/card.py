"""The model card: what a release says the model is for, takes, returns and was trained on.

Read from `model_card.yaml` in the model folder and validated whole: every field a release
needs is required, and an error names the file and the field. The card is part of the
folder, so its bytes are covered by the model version's hash.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qms.models.errors import ModelError
from qms.yamlfile import Located, load

__all__ = [
    "Architecture", "CARD_FILE", "GenerationSpec", "InputRequirements", "ModelCard", "ModelFormat", "ModelKind",
    "PerformanceClaim", "Precision", "StudySpec", "TrainingData", "WindowSpec",
]

CARD_FILE = "model_card.yaml"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelFormat(str, Enum):
    """How the folder's weights are turned into a module."""

    TRANSFORMERS = "transformers"
    TORCH = "torch"
    IMAGE_TO_TEXT = "image-to-text"
    LORA = "lora"

    @property
    def runtime(self) -> tuple[str, ...]:
        """The distributions a model of this format runs on (DICOM in, weights loaded, forward pass): its SOUP."""
        common = ("numpy", "pydicom", "safetensors", "torch")
        extra = {ModelFormat.TRANSFORMERS: ("transformers",), ModelFormat.TORCH: (),
                 ModelFormat.IMAGE_TO_TEXT: ("tokenizers", "transformers"), ModelFormat.LORA: ("peft", "transformers")}
        return (*common, *extra[self])


class ModelKind(str, Enum):
    """What a model returns: scores per label for an image or a study, or a written report."""

    CLASSIFIER = "classifier"
    STUDY = "study"
    GENERATOR = "generator"


class Precision(str, Enum):
    """The arithmetic inference runs in; bf16 autocast runs on CPU and CUDA, fp16 on CUDA only."""

    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"


class WindowSpec(_Strict):
    """A fixed VOI window the model was trained with, overriding the file's own."""

    center: float
    width: float = Field(gt=0)
    function: str = Field(default="LINEAR", pattern="^(LINEAR|LINEAR_EXACT|SIGMOID)$")


class InputRequirements(_Strict):
    """What the model takes: modalities, size, channels, the normalisation it was trained with."""

    modalities: tuple[str, ...] = Field(min_length=1, description="DICOM Modality (0008,0060) values accepted")
    image_size: int = Field(ge=8, le=4096)
    channels: int = Field(ge=1, le=3)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    window: WindowSpec | None = None

    @model_validator(mode="after")
    def _per_channel(self) -> InputRequirements:
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError(f"mean and std need one value per channel ({self.channels})")
        if any(s <= 0 for s in self.std):
            raise ValueError("every std must be > 0")
        return self


class StudySpec(_Strict):
    """A study-level input: one series per sequence, each ordered along its slice normal, resampled and stacked.

    Channel i of the (C, D, H, W) tensor is `sequences[i]`; each volume is resampled to `spacing`
    (mm: between slices, rows, columns), centred in `shape` (cropped or zero-padded), and z-scored.
    """

    sequences: tuple[str, ...] = Field(min_length=1, description="channel order, e.g. [T1, T2, FLAIR]")
    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]

    @model_validator(mode="after")
    def _grid(self) -> StudySpec:
        if len(set(self.sequences)) != len(self.sequences):
            raise ValueError("study.sequences names a sequence twice")
        if any(n < 2 or n > 1024 for n in self.shape) or any(not 0 < s <= 50 for s in self.spacing):
            raise ValueError("study.shape needs 2..1024 voxels per axis and study.spacing 0 < mm <= 50")
        return self


class GenerationSpec(_Strict):
    """How a report generator decodes: greedy unless sampling is stated, and then seeded."""

    max_new_tokens: int = Field(ge=1, le=1024)
    num_beams: int = Field(default=1, ge=1, le=16)
    do_sample: bool = False
    top_k: int | None = Field(default=None, ge=1)
    seed: int = Field(default=0, ge=0)


class TrainingData(_Strict):
    summary: str = Field(min_length=1)
    manifest_sha256: str

    @field_validator("manifest_sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _SHA256.match(value):
            raise ValueError("must be the dataset manifest's sha256 (64 lowercase hex digits)")
        return value


class PerformanceClaim(_Strict):
    endpoint: str = Field(min_length=1, description="e.g. AUROC, sensitivity at the operating point")
    label: str = Field(min_length=1, description="an output label, or 'mean' over all of them")
    claim: str = Field(min_length=1, description="e.g. '>= 0.80 (95% CI lower bound)'")
    dataset: str = Field(min_length=1)


class Architecture(_Strict):
    format: ModelFormat
    weights: str = Field(default="model.safetensors", pattern=r"^[^/\\]+\.safetensors$",
                         description="the weights file in the model folder: a safetensors file name, no path "
                                     "(pickled weights can run code; a path could leave the folder its digest covers)")
    torch_class: str | None = Field(default=None, description=(
        "'package.module:Class' (format torch only); the distribution that installs it is SOUP, which the gate "
        "requires in the soup file (not qmskit's classes nor the device's own code)"))
    init_args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _class_for_torch(self) -> Architecture:
        if self.format is ModelFormat.TORCH and not (self.torch_class and ":" in self.torch_class):
            raise ValueError("format torch needs torch_class: 'package.module:Class'")
        if self.format is not ModelFormat.TORCH and (self.torch_class or self.init_args):
            raise ValueError("torch_class and init_args are for format torch only (the others read their config files)")
        return self


class ModelCard(_Strict):
    """Everything a release document states about the model (DESIGN: models and validation)."""

    intended_use: str = Field(min_length=1)
    indications: tuple[str, ...] = Field(min_length=1)
    contraindications: tuple[str, ...] = Field(min_length=1)
    input: InputRequirements
    output_labels: tuple[str, ...] = Field(min_length=1)
    training_data: TrainingData
    performance_claims: tuple[PerformanceClaim, ...] = Field(min_length=1)
    known_limitations: tuple[str, ...] = Field(min_length=1)
    architecture: Architecture
    study: StudySpec | None = None
    generation: GenerationSpec | None = None
    precision_limits: dict[Precision, float] = Field(
        default_factory=dict, description="per precision, the largest |output probability - fp32's| allowed")

    @property
    def kind(self) -> ModelKind:
        if self.generation is not None:
            return ModelKind.GENERATOR
        return ModelKind.STUDY if self.study is not None else ModelKind.CLASSIFIER

    @model_validator(mode="after")
    def _kind(self) -> ModelCard:
        if self.study is not None and self.generation is not None:
            raise ValueError("a card states study or generation, not both")
        if self.study is not None and len(self.study.sequences) != self.input.channels:
            raise ValueError(f"input.channels ({self.input.channels}) must be the number of study.sequences "
                             f"({len(self.study.sequences)})")
        if (self.architecture.format is ModelFormat.IMAGE_TO_TEXT) != (self.generation is not None) \
                and self.architecture.format is not ModelFormat.LORA:
            raise ValueError("format image-to-text needs a generation section, and only it has one")
        if any(not 0 <= v <= 1 for v in self.precision_limits.values()):
            raise ValueError("precision_limits are probability differences between 0 and 1")
        return self

    @model_validator(mode="after")
    def _labels(self) -> ModelCard:
        if len(set(self.output_labels)) != len(self.output_labels):
            raise ValueError("output_labels has a label twice")
        known = set(self.output_labels) | {"mean"}
        for claim in self.performance_claims:
            if claim.label not in known:
                raise ValueError(f"performance claim for {claim.label!r}, which is not an output label")
        return self

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Any, where: str, located: Located | None = None) -> ModelCard:
        """A validated card; with the YAML it was read from (`located`), an error names the field's line."""
        if not isinstance(data, dict):
            raise ModelError("the model card must be a mapping of fields", where=where)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors()
            # a misspelt field is both unknown and (its right name) missing: name the typo, which is the cause
            first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
            field = ".".join(str(p) for p in first["loc"]) or "(card)"
            if located is not None and first["loc"] and first["type"] != "missing":  # a missing field has no line
                where = located.where(tuple(first["loc"]))
            if first["type"] == "missing":
                raise ModelError(f"the model card lacks the required field {field!r}", where=where,
                                 hint="a release needs every field of the card; see examples/cxr-triage/model") from exc
            if first["type"] == "extra_forbidden":
                from qms.config import did_you_mean

                missing = [str(e["loc"][-1]) for e in errors
                           if e["type"] == "missing" and e["loc"][:-1] == first["loc"][:-1]]
                meant = did_you_mean(str(first["loc"][-1]), missing or list(cls.model_fields))
                raise ModelError(f"unknown model card field {field!r}", where=where,
                                 hint=f"{meant}fields: {', '.join(cls.model_fields)}") from exc
            raise ModelError(f"model card field {field!r}: {first['msg']}", where=where) from exc

    @classmethod
    def from_folder(cls, folder: Path) -> ModelCard:
        path = folder / CARD_FILE
        if not path.is_file():
            raise ModelError(f"the model folder has no model card ({CARD_FILE})", where=str(folder),
                             hint="write the card: intended use, indications, inputs, labels, training data, claims")
        return cls.from_file(path)

    @classmethod
    def from_file(cls, path: Path) -> ModelCard:
        """A card from its YAML file; every error names the file and line."""
        doc = load(path, ModelError)
        return cls.from_json(doc.data, str(path), doc)
