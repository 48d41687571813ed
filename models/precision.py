"""How far a reduced precision moves a model's outputs from fp32, against the limit its card states.

For a classifier or study model the gap is the largest |probability - fp32's| over the
cases and labels. For a report generator it is measured on the fp32 report itself: the
greedy fp32 tokens are scored teacher-forced in both precisions, and the gap is the
largest difference in any chosen token's probability (so a gap is defined even when the
two precisions would write different text). The check returns a finding; the caller decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from qms.findings import Finding
from qms.models.card import ModelKind, Precision
from qms.models.generation import decode_batch
from qms.models.inference import AUTOCAST, predict, resolve_device, resolve_precision
from qms.models.loaders import LoadedModel
from qms.models.preprocess import to_tensor

__all__ = ["CHECK", "check_gap", "precision_gap"]

CHECK = "model-precision"


def _token_probabilities(model: LoadedModel, pixels: torch.Tensor, ids: torch.Tensor, device: torch.device,
                         precision: str) -> torch.Tensor:
    """The probability of each token of `ids` (after the start token), teacher-forced, in `precision`."""
    with torch.autocast(device.type, dtype=AUTOCAST[precision]) if precision in AUTOCAST else nullcontext():
        logits = model.module(pixel_values=pixels.to(device), decoder_input_ids=ids[:, :-1].to(device)).logits
    probs = torch.softmax(logits.float(), dim=-1).cpu()
    chosen = torch.gather(probs, -1, ids[:, 1:, None])[..., 0]
    return chosen.masked_fill(ids[:, 1:] == model.tokenizer.pad_token_id, 0.0)


def precision_gap(model: LoadedModel, files: Sequence[Path], precision: str, *,
                  device: str | torch.device | None = None) -> float:
    """The largest output difference from fp32 at `precision` over `files` (see the module text)."""
    dev = resolve_device(device)
    resolve_precision(dev, precision)
    if model.kind is not ModelKind.GENERATOR:
        ref = predict(model, files, device=dev, precision="fp32").probabilities
        low = predict(model, files, device=dev, precision=precision).probabilities
        return float(np.nanmax(np.abs(low - ref))) if np.isfinite(ref).any() else 0.0
    pixels = torch.stack([to_tensor(f, model.card.input) for f in files])
    model.module.to(dev).eval()
    with torch.inference_mode():
        ids = decode_batch(model, pixels, seed=0, device=dev, precision="fp32")
        ref_p = _token_probabilities(model, pixels, ids, dev, "fp32")
        low_p = _token_probabilities(model, pixels, ids, dev, precision)
    return float((low_p - ref_p).abs().max())


def check_gap(model: LoadedModel, precision: str, gap: float) -> Finding | None:
    """A finding when the measured gap exceeds the card's limit for `precision`, or the card states none."""
    limit = model.card.precision_limits.get(Precision(precision))
    if limit is None:
        return Finding(CHECK, model.ref, f"the model card states no repeatability limit for {precision}",
                       hint="state precision_limits in the model card", where="model_card.yaml")
    if gap > limit:
        return Finding(CHECK, model.ref, f"{precision} moves outputs by up to {gap:.4g} from fp32; the card allows "
                       f"{limit:.4g}", hint="run in fp32, or re-measure and restate the limit", where="model_card.yaml")
    return None
