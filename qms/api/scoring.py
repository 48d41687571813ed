"""Scoring a request's instances with a served model, exactly as validation scores a dataset.

Each instance's dataset, parsed once at the door, goes through the model card's preprocessing
(`qms.models.preprocess.dataset_tensor`: what `qms.models.inference.predict` runs on each file)
and the batch through `qms.models.inference.batch_probabilities` (predict's device, precision
and determinism rules). Nothing is written to disk and each image is decoded once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from qms.api.ingest import IngestError, Instance
from qms.models.errors import InputError
from qms.models.inference import batch_probabilities
from qms.models.loaders import LoadedModel
from qms.models.preprocess import dataset_tensor

__all__ = ["LocalScorer", "Scorer", "score"]


def score(model: LoadedModel, instances: Sequence[Instance], *, device: str | None = None) -> list[dict[str, float]]:
    """label -> probability for every instance, in order; an unusable instance is an `IngestError` (422)."""
    if model.card.study is not None:
        raise IngestError(f"{model.ref} reads a whole study index, not single images", where=f"model:{model.ref}",
                          status=422, hint="this service scores image models")
    tensors = []
    for index, instance in enumerate(instances, start=1):
        try:
            tensors.append(dataset_tensor(instance.dataset, model.card.input, f"part {index}"))
        except InputError as exc:
            raise IngestError(f"the image cannot be preprocessed as the model card says: {exc.message}",
                              where=exc.where or f"part {index}", status=422, hint=exc.hint) from exc
    probabilities = batch_probabilities(model, torch.stack(tensors), device=device)
    return [dict(zip(model.labels, map(float, row), strict=True)) for row in probabilities]


class Scorer(Protocol):
    """Where the service's models run: in the service's process (`LocalScorer`) or on Ray Serve replicas."""

    @property
    def lanes(self) -> int:
        """How many batches of one model it scores at once (`qms.api.batching`)."""

    def sync(self, served: Mapping[str, LoadedModel]) -> None:
        """Run exactly these versions from now on (called at start, after every reload and withdrawal)."""

    def __call__(self, model: LoadedModel, instances: Sequence[Instance]) -> list[dict[str, float]]: ...

    def close(self) -> None: ...


@dataclass
class LocalScorer:
    """Scores in the service's own process, with the catalogue's loaded models."""

    device: str | None = None
    threads: int | None = None
    lanes: int = 1

    def sync(self, served: Mapping[str, LoadedModel]) -> None:
        """Nothing to deploy: the catalogue's models are the ones in this process, on `threads` intra-op threads
        (torch's setting is the process's: the service owns its process)."""
        if self.threads is not None:
            torch.set_num_threads(self.threads)

    def __call__(self, model: LoadedModel, instances: Sequence[Instance]) -> list[dict[str, float]]:
        return score(model, instances, device=self.device)

    def close(self) -> None:
        """Nothing to release."""
