"""Images per second through the whole inference pipeline against the model's forward pass alone.

Pipeline: DICOM read and decode, Modality LUT, VOI window, resize and pad, normalise,
DataLoader batching, forward pass, sigmoid, results copied back (`qms.models.inference.predict`).
Baseline, in the same run: the same model's forward pass over the same number of
ready-made tensors already in memory, same batch size and precision. Medians of the
repeats; the ratio pipeline / forward-only says whether input is the bottleneck.

    python benchmarks/bench_models.py [--images 512] [--repeats 3] [--device cpu] [--workers 0] [--model example]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from qms.models.fileset import FileSet
from qms.models.inference import _DTYPES, environment, predict, resolve_device, resolve_precision
from qms.models.loaders import LoadedModel, load_folder, quiet_transformers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for the tests' builder
from tests.models.helpers import dicom, write  # noqa: E402

LABELS = ("pneumothorax", "pleural_effusion", "cardiomegaly")
MODELS: dict[str, dict[str, int]] = {
    # the example model's shape (examples/cxr-triage/model/train.yaml)
    "example": {"image_size": 64, "patch_size": 8, "hidden_size": 64, "num_hidden_layers": 2,
                "num_attention_heads": 4, "intermediate_size": 128},
    # ViT-B/16 at 224: a production-sized image classifier
    "vit-base": {"image_size": 224, "patch_size": 16, "hidden_size": 768, "num_hidden_layers": 12,
                 "num_attention_heads": 12, "intermediate_size": 3072},
}


def make_images(root: Path, count: int, size: int = 128) -> list[Path]:
    """Synthetic 12-bit DX images (no PHI), half of them MONOCHROME1 (the model tests' builder)."""
    rng = np.random.default_rng(0)
    return [write(dicom(rng.integers(0, 4096, (size, size)).astype(np.uint16),
                        photometric="MONOCHROME1" if i % 2 else "MONOCHROME2", WindowCenter=2048, WindowWidth=4096),
                  root / f"{i:05d}.dcm")
            for i in range(count)]


def make_model(root: Path, kind: str, seed: int = 0) -> LoadedModel:
    """A ViT with seeded random weights and a complete card, loaded as the registry would load it."""
    from transformers import ViTConfig, ViTForImageClassification

    shape = MODELS[kind]
    torch.manual_seed(seed)
    fields: dict[str, Any] = {"num_channels": 1, "num_labels": len(LABELS), "id2label": dict(enumerate(LABELS)),
                              "label2id": {n: i for i, n in enumerate(LABELS)},
                              "problem_type": "multi_label_classification", **shape}
    config = ViTConfig(**fields)
    folder = root / kind
    with quiet_transformers():
        ViTForImageClassification(config).save_pretrained(folder)
    card: dict[str, Any] = {
        "intended_use": "benchmark only", "indications": ["benchmark"], "contraindications": ["clinical use"],
        "input": {"modalities": ["DX"], "image_size": shape["image_size"], "channels": 1, "mean": [0.5], "std": [0.25]},
        "output_labels": list(LABELS), "training_data": {"summary": "random weights", "manifest_sha256": "0" * 64},
        "performance_claims": [{"endpoint": "none", "label": "mean", "claim": "none", "dataset": "none"}],
        "known_limitations": ["random weights"], "architecture": {"format": "transformers"},
    }
    (folder / "model_card.yaml").write_text(yaml.safe_dump(card), encoding="utf-8")
    return load_folder(folder, ref=f"bench-{kind}@0", digest=FileSet.of_folder(folder).digest)


def forward_only(model: LoadedModel, count: int, batch_size: int, device: torch.device, precision: str) -> float:
    """Seconds for `count` ready tensors already on the device through forward + sigmoid."""
    spec = model.card.input
    batch = torch.randn(batch_size, spec.channels, spec.image_size, spec.image_size, device=device)
    model.module.to(device).eval()
    start = time.perf_counter()
    with torch.inference_mode():
        done = 0
        while done < count:
            n = min(batch_size, count - done)
            with torch.autocast(device.type, dtype=_DTYPES[precision]) if precision in _DTYPES else nullcontext():
                out = torch.sigmoid(model.logits(batch[:n]).float())
            out.cpu()
            done += n
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def pipeline(model: LoadedModel, files: list[Path], batch_size: int, workers: int, device: torch.device,
             precision: str) -> float:
    start = time.perf_counter()
    result = predict(model, files, batch_size=batch_size, workers=workers, device=device, precision=precision)
    elapsed = time.perf_counter() - start
    if result.failures:
        raise SystemExit(f"benchmark images failed: {next(iter(result.failures.values()))}")
    return elapsed


def run(images: int, repeats: int, device_name: str | None, workers: int, batch_size: int, kind: str) -> dict[str, Any]:
    device = resolve_device(device_name)
    precision = resolve_precision(device, None)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_images(root, images)
        model = make_model(root, kind)
        pipeline(model, files[:batch_size], batch_size, workers, device, precision)  # warm-up
        forward_only(model, batch_size, batch_size, device, precision)
        pipe = [images / pipeline(model, files, batch_size, workers, device, precision) for _ in range(repeats)]
        fwd = [images / forward_only(model, images, batch_size, device, precision) for _ in range(repeats)]
    env = environment(device, precision, batch_size, workers)
    return {"model": kind, "images": images, "repeats": repeats, "device": env["device_name"], "precision": precision,
            "torch_threads": torch.get_num_threads(), "workers": workers, "batch_size": batch_size,
            "pipeline_img_s": statistics.median(pipe), "forward_img_s": statistics.median(fwd),
            "ratio": statistics.median(pipe) / statistics.median(fwd)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default=None)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", choices=sorted(MODELS), default="example")
    args = parser.parse_args()
    r = run(args.images, args.repeats, args.device, args.workers, args.batch_size, args.model)
    print(f"device {r['device']} ({r['precision']}, {r['torch_threads']} torch threads, {r['workers']} loader workers), "
          f"model {r['model']}, {r['images']} images of 128x128, batch {r['batch_size']}, median of {r['repeats']}")
    print(f"  pipeline (DICOM read + preprocess + infer): {r['pipeline_img_s']:9.1f} images/s")
    print(f"  baseline, forward pass on ready tensors:    {r['forward_img_s']:9.1f} images/s")
    print(f"  ratio pipeline / forward-only:              {r['ratio']:9.2f}")


if __name__ == "__main__":
    main()
