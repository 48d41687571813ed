"""Synthetic production traffic and a synthetic validation reference for the monitoring tests (no real data)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from qms.api.records import InferenceRecord
from qms.hashing import canonical_json
from qms.monitor.reference import Reference
from qms.store import Store

MODEL = "tiny@1.0.0"
LABELS = ("pneumothorax", "effusion")
START = datetime(2026, 11, 2, tzinfo=UTC)


def inputs(rng: np.random.Generator, n: int, *, unseen_share: float = 0.0, spacing: float = 0.14) -> list[dict[str, Any]]:
    """Image descriptions as the service records them: two validated devices, spacing near `spacing`."""
    out = []
    for _ in range(n):
        maker = "Unseen Corp" if rng.random() < unseen_share else str(rng.choice(["Acme", "Globex"]))
        out.append({"Manufacturer": maker, "ManufacturerModelName": f"{maker} DR", "Modality": "DX",
                    "pixel_spacing": float(rng.normal(spacing, 0.005)), "mean": float(rng.normal(0.45, 0.05)),
                    "std": float(rng.normal(0.2, 0.02))})
    return out


def scores(rng: np.random.Generator, n: int, *, shift: float = 0.0) -> dict[str, np.ndarray]:
    """Per-label scores: Beta(2, 5) for the first label (moved towards 1 by `shift`), Beta(2, 2) for the second."""
    first = rng.beta(2 + 10 * shift, 5, n)
    return {LABELS[0]: first, LABELS[1]: rng.beta(2, 2, n)}


def reference(seed: int = 1, n: int = 600) -> Reference:
    rng = np.random.default_rng(seed)
    return Reference("run-synthetic", MODEL, None, scores(rng, n), inputs(rng, n))


def send(store: Store, n: int, *, seed: int, day: int = 0, shift: float = 0.0, unseen_share: float = 0.0,
         spacing: float = 0.14, model: str = MODEL, shifted_maker: str | None = None) -> None:
    """`n` single-instance inference records on day `day`, one every minute, as the service writes them;
    with `shifted_maker`, only that manufacturer's images get the shifted scores."""
    rng = np.random.default_rng(seed)
    s, described = scores(rng, n, shift=shift), inputs(rng, n, unseen_share=unseen_share, spacing=spacing)
    if shifted_maker is not None:
        base = scores(rng, n)
        s = {label: np.where([d["Manufacturer"] == shifted_maker for d in described], s[label], base[label])
             for label in LABELS}
    rows = [InferenceRecord(request_id=f"{seed:04d}{i:028d}", client="site-a", model_ref=model, model_digest="0" * 64,
                            input_sha256=f"{i:064d}", pseudonyms="{}", inputs=canonical_json([described[i]]).decode(),
                            output=json.dumps([{label: float(s[label][i]) for label in LABELS}]), latency_ms=5.0,
                            created_at=START + timedelta(days=day, minutes=i))
            for i in range(n)]
    with store.transaction() as session:
        session.add_all(rows)
