"""Batched, seeded report generation from DICOM images, with the run's environment recorded.

Decoding follows the card's generation section: greedy (or beam) search unless sampling
is stated, and sampling draws from a generator seeded per batch (the card's seed plus the
batch's first case index), so the same files, seed and batch size give the same text on
every run. Images are preprocessed exactly as for a classifier (`qms.models.preprocess`);
bf16 autocast runs on CPU or CUDA, fp16 on CUDA only, and only in a precision the card
states a repeatability limit for. A case that cannot be read is reported with its reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from qms.atomic import write_text
from qms.hashing import sha256_file
from qms.models.card import ModelKind
from qms.models.errors import InputError, ModelError
from qms.models.inference import AUTOCAST, check_precision, environment, resolve_device, resolve_precision
from qms.models.labelled import LabelledSet
from qms.models.hf import quiet_transformers
from qms.models.loaders import LoadedModel
from qms.models.preprocess import to_tensor

__all__ = ["GenerationResult", "decode_batch", "generate", "generate_manifest", "write_csv"]


@dataclass(frozen=True)
class GenerationResult:
    """One generated report per case (None for a failed case, its reason in `failures`) and how they were made."""

    model_ref: str
    model_digest: str
    cases: tuple[str, ...]
    texts: tuple[str | None, ...]
    failures: dict[int, str]
    environment: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model_ref, "model_digest": self.model_digest,
                "cases": [{"case": c, "text": t, "failure": self.failures.get(i)}
                          for i, (c, t) in enumerate(zip(self.cases, self.texts, strict=True))],
                "environment": self.environment}


def _generator_of(model: LoadedModel) -> None:
    if model.kind is not ModelKind.GENERATOR or model.tokenizer is None:
        raise ModelError(f"{model.ref} is a {model.kind.value}, not a report generator", where=f"model:{model.ref}",
                         hint="score it with qms.models.inference.predict")


def decode_batch(model: LoadedModel, pixels: torch.Tensor, *, seed: int, device: torch.device, precision: str
                 ) -> torch.Tensor:
    """Token ids of one preprocessed batch, decoded as the card says (call under inference mode)."""
    spec = model.card.generation
    assert spec is not None
    torch.manual_seed(seed)
    options: dict[str, Any] = {"max_new_tokens": spec.max_new_tokens, "num_beams": spec.num_beams,
                               "do_sample": spec.do_sample, "pad_token_id": model.tokenizer.pad_token_id}
    if spec.do_sample and spec.top_k is not None:
        options["top_k"] = spec.top_k
    with torch.autocast(device.type, dtype=AUTOCAST[precision]) if precision in AUTOCAST else nullcontext(), \
            quiet_transformers():
        ids: torch.Tensor = model.module.generate(  # type: ignore[operator]
            pixel_values=pixels.to(device), **options)
    return ids.cpu()


def generate(
    model: LoadedModel, files: Sequence[Path], *, batch_size: int = 8, device: str | torch.device | None = None,
    precision: str | None = None, seed: int | None = None,
) -> GenerationResult:
    """A report per file, in input order; `seed` overrides the card's (it only matters when sampling)."""
    _generator_of(model)
    if batch_size < 1:
        raise ModelError(f"batch_size must be >= 1 (got {batch_size})")
    spec = model.card.generation
    assert spec is not None
    dev = resolve_device(device)
    prec = resolve_precision(dev, precision)
    check_precision(model.card, prec)
    base_seed = spec.seed if seed is None else seed
    texts: list[str | None] = [None] * len(files)
    failures: dict[int, str] = {}
    model.module.to(dev).eval()
    with torch.inference_mode():
        for start in range(0, len(files), batch_size):
            good: list[tuple[int, torch.Tensor]] = []
            for i in range(start, min(start + batch_size, len(files))):
                try:
                    good.append((i, to_tensor(files[i], model.card.input)))
                except InputError as exc:
                    failures[i] = exc.diagnostics()
            if not good:
                continue
            ids = decode_batch(model, torch.stack([t for _, t in good]), seed=base_seed + start, device=dev,
                               precision=prec)
            for (i, _), text in zip(good, model.tokenizer.batch_decode(ids, skip_special_tokens=True), strict=True):
                texts[i] = str(text).strip()
    env = {**environment(dev, prec, batch_size, 0), "seed": base_seed,
           "decoding": "sampling" if spec.do_sample else ("beam" if spec.num_beams > 1 else "greedy")}
    return GenerationResult(model_ref=model.ref, model_digest=model.digest, cases=tuple(str(f) for f in files),
                            texts=tuple(texts), failures=failures, environment=env)


def generate_manifest(
    model: LoadedModel, manifest: LabelledSet, root: Path, *, batch_size: int = 8,
    device: str | torch.device | None = None, precision: str | None = None, seed: int | None = None,
) -> GenerationResult:
    """`generate` over a dataset manifest's files under `root`; a file whose bytes differ from its hash fails."""
    files = [root / e.file for e in manifest.entries]
    result = generate(model, files, batch_size=batch_size, device=device, precision=precision, seed=seed)
    texts, failures = list(result.texts), dict(result.failures)
    for i, (entry, path) in enumerate(zip(manifest.entries, files, strict=True)):
        if i not in failures and sha256_file(path) != entry.sha256:
            failures[i] = f"{path}: the file's content differs from the manifest (sha256 {entry.sha256[:12]}...)"
            texts[i] = None
    return GenerationResult(model_ref=result.model_ref, model_digest=result.model_digest,
                            cases=tuple(e.file for e in manifest.entries), texts=tuple(texts),
                            failures=dict(sorted(failures.items())),
                            environment={**result.environment, "manifest_sha256": manifest.sha256})


def write_csv(result: GenerationResult, patient_ids: Sequence[str], path: Path) -> None:
    """The reports as the CSV validation reads (case_id, patient_id, generated), with each failure's reason."""
    if len(patient_ids) != len(result.cases):
        raise ModelError(f"{len(patient_ids)} patient ids for {len(result.cases)} cases")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["case_id", "patient_id", "generated", "failure"])
    for i, (case, patient, text) in enumerate(zip(result.cases, patient_ids, result.texts, strict=True)):
        writer.writerow([case, patient, text or "", result.failures.get(i, "")])
    write_text(path, buffer.getvalue())
