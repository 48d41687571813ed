"""Scoring a request's instances with a served model, exactly as validation scores a dataset.

The instances are written to a private temporary folder and go through
`qms.models.inference.predict`, the function validation runs: the card's preprocessing,
the same precision rules, the same per-case failures.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from qms.api.ingest import IngestError, Instance
from qms.models.inference import predict
from qms.models.loaders import LoadedModel

__all__ = ["LocalScorer", "Scorer", "score"]


def score(model: LoadedModel, instances: Sequence[Instance], *, device: str | None = None) -> list[dict[str, float]]:
    """label -> probability for every instance, in order; an unusable instance is an `IngestError` (422)."""
    with tempfile.TemporaryDirectory(prefix="qms-api-") as tmp:
        files = []
        for index, instance in enumerate(instances, start=1):
            path = Path(tmp) / f"part-{index}.dcm"
            path.write_bytes(instance.data)
            files.append(path)
        result = predict(model, files, batch_size=max(1, len(files)), workers=0, device=device)
    if result.failures:
        index, reason = next(iter(result.failures.items()))
        first_line = reason.splitlines()[0].split(": ", 1)[-1]  # drop the temporary path the diagnosis starts with
        raise IngestError(f"the image cannot be preprocessed as the model card says: {first_line}",
                          where=f"part {index + 1}", status=422)
    return [dict(zip(result.labels, map(float, row), strict=True)) for row in result.probabilities]


class Scorer(Protocol):
    """Where the service's models run: in the service's process (`LocalScorer`) or on Ray Serve replicas."""

    def sync(self, served: Mapping[str, LoadedModel]) -> None:
        """Run exactly these versions from now on (called at start, after every reload and withdrawal)."""

    def __call__(self, model: LoadedModel, instances: Sequence[Instance]) -> list[dict[str, float]]: ...

    def close(self) -> None: ...


@dataclass
class LocalScorer:
    """Scores in the service's own process, with the catalogue's loaded models."""

    device: str | None = None

    def sync(self, served: Mapping[str, LoadedModel]) -> None:
        """Nothing to deploy: the catalogue's models are the ones in this process."""

    def __call__(self, model: LoadedModel, instances: Sequence[Instance]) -> list[dict[str, float]]:
        return score(model, instances, device=self.device)

    def close(self) -> None:
        """Nothing to release."""
