"""Images per second through the whole inference pipeline against the model's forward pass alone.

Pipeline: DICOM read and decode, Modality LUT, VOI window, resize and pad, normalise,
DataLoader batching, forward pass, sigmoid, results copied back (`qms.models.inference.predict`).
Baseline, in the same run: the same model's forward pass over the same number of
ready-made tensors already in memory, same batch size and precision. Medians of the
repeats; the ratio pipeline / forward-only says whether input is the bottleneck.

    python benchmarks/bench_models.py [--images 512] [--repeats 3] [--device cpu] [--workers 0] [--model example]

Two more figures (issue 21), each with its baseline from the same run:
`--series N`: multi-sequence studies to (C, D, H, W) tensors (`qms.models.study.study_tensor`: hash
check, read, order along the normal, resample, stack) against the pydicom read floor (dcmread and
pixel_array of the same files); `--generation N`: reports/s of a tiny report generator batched
against one image at a time; `--labeler N`: reports/s of the report labeller
(`qms.validation.labeler`, one compiled pass per report) against a naive labeller of the same
vocabulary that searches each phrase and each cue with its own regular expression, sentence by
sentence (goal: over 1,000 reports/s).
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


def series_loading(studies: int, repeats: int, slices: int = 24, matrix: int = 128) -> dict[str, Any]:
    """Slices/s from study index to tensor, against dcmread + pixel_array of the same files (the floor)."""
    import pydicom

    from qms.models.card import ModelCard
    from qms.models.study import read_index, study_tensor
    from tests.models.kinds import SEQUENCES, study, study_card

    card = ModelCard.model_validate(study_card(study={"sequences": list(SEQUENCES), "shape": [32, 64, 64],
                                                      "spacing": [3.0, 3.0, 3.0]}))
    assert card.study is not None
    with tempfile.TemporaryDirectory() as tmp:
        indices = [study(Path(tmp) / f"s{i}", seed=i, slices=slices, matrix=(matrix, matrix)) for i in range(studies)]
        files = [f for index in indices for series in read_index(index, SEQUENCES).values() for f in series]
        ours, floor, ours_cpu, floor_cpu = [], [], [], []
        for _ in range(repeats):  # back to back, so both see the same load
            start, cpu = time.perf_counter(), time.process_time()
            for f in files:
                pydicom.dcmread(f).pixel_array
            floor.append(len(files) / (time.perf_counter() - start))
            floor_cpu.append(len(files) / (time.process_time() - cpu))
            start, cpu = time.perf_counter(), time.process_time()
            for index in indices:
                study_tensor(index, card.study, card.input)
            ours.append(len(files) / (time.perf_counter() - start))
            ours_cpu.append(len(files) / (time.process_time() - cpu))
    return {"studies": studies, "slices": len(files), "ours_slices_s": statistics.median(ours),
            "floor_slices_s": statistics.median(floor), "ratio": statistics.median(ours) / statistics.median(floor),
            "cpu_ratio": statistics.median(ours_cpu) / statistics.median(floor_cpu)}


def generation_speed(images: int, repeats: int, batch_size: int = 16) -> dict[str, Any]:
    """Reports/s of a tiny ViT-to-GPT-2 generator (greedy, 16 new tokens) batched and one image at a time."""
    from qms.models.generation import generate
    from tests.models.kinds import generator

    with tempfile.TemporaryDirectory() as tmp:
        files = make_images(Path(tmp), images, size=64)
        model = load_folder(generator(Path(tmp) / "gen", max_new_tokens=16), ref="bench@1", digest="0" * 64)
        generate(model, files[:2], batch_size=2)  # warm-up
        rates: dict[int, list[float]] = {batch_size: [], 1: []}
        for _ in range(repeats):
            for size in rates:
                start = time.perf_counter()
                generate(model, files, batch_size=size)
                rates[size].append(images / (time.perf_counter() - start))
    batched, single = statistics.median(rates[batch_size]), statistics.median(rates[1])
    return {"images": images, "batch_size": batch_size, "batched_reports_s": batched, "unbatched_reports_s": single,
            "ratio": batched / single}


_SENTENCES = [
    "PA and lateral views of the chest.", "The heart size is normal.", "The heart is mildly enlarged.",
    "No focal consolidation, pleural effusion or pneumothorax.", "Small left pleural effusion.",
    "Right lower lobe opacity, pneumonia cannot be excluded.", "Mild bibasilar atelectasis.",
    "Interval resolution of the right pneumothorax.", "Endotracheal tube terminates 4 cm above the carina.",
    "No acute cardiopulmonary process.", "Degenerative changes of the thoracic spine.",
    "Possible small right apical pneumothorax.", "Pulmonary vascular congestion without frank edema.",
    "Healed left rib fractures.", "No change in the moderate right pleural effusion, but there is new consolidation.",
]


def _naive_labeler(vocabulary: Any) -> Any:
    """The baseline: per sentence, every finding phrase and every cue phrase searched with its own regex."""
    import re

    from qms.validation.vocabulary import Cue, normalise

    def label(text: str) -> dict[str, str]:
        out = {f.id: "not_mentioned" for f in vocabulary.findings}
        for sentence in re.split(r"[.;:!?](?:\s|$)", normalise(text)):
            for f in vocabulary.findings:
                for phrase in f.mentions:
                    m = re.search(rf"\b{re.escape(phrase)}\b", sentence)
                    if m is None:
                        continue
                    before, after = sentence[:m.start()], sentence[m.end():]
                    hedged = any(re.search(rf"\b{re.escape(c)}\b", before) for c in vocabulary.cues[Cue.UNCERTAINTY_PRE]) \
                        or any(re.search(rf"\b{re.escape(c)}\b", after) for c in vocabulary.cues[Cue.UNCERTAINTY_POST])
                    negated = any(re.search(rf"\b{re.escape(c)}\b", before) for c in vocabulary.cues[Cue.NEGATION_PRE]) \
                        or any(re.search(rf"\b{re.escape(c)}\b", after) for c in vocabulary.cues[Cue.NEGATION_POST])
                    status = "uncertain" if hedged else "negative" if negated else "positive"
                    rank = ["not_mentioned", "negative", "uncertain", "positive"]
                    if rank.index(status) > rank.index(out[f.id]):
                        out[f.id] = status
        return out
    return label


def labeler_speed(reports: int, repeats: int) -> dict[str, Any]:
    """Reports/s of the labeller against the naive per-phrase, per-cue regex loop, on the same synthetic reports."""
    from qms.validation.labeler import Labeler
    from qms.validation.vocabulary import default_vocabulary

    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(_SENTENCES, size=int(rng.integers(4, 9)), replace=False)) for _ in range(reports)]
    vocabulary = default_vocabulary()
    ours, naive = Labeler(vocabulary), _naive_labeler(vocabulary)
    baseline_texts = texts[:max(1, reports // 20)]

    def rate(fn: Any, batch: list[str]) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for t in batch:
                fn(t)
            times.append(time.perf_counter() - start)
        return len(batch) / statistics.median(times)

    fast, slow = rate(ours.label, texts), rate(naive, baseline_texts)
    return {"reports": reports, "labeler_reports_s": fast, "naive_reports_s": slow, "ratio": fast / slow,
            "mean_chars": float(np.mean([len(t) for t in texts]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default=None)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", choices=sorted(MODELS), default="example")
    parser.add_argument("--series", type=int, default=0, help="studies for the series-to-tensor figure (0: skip)")
    parser.add_argument("--generation", type=int, default=0, help="images for the generation figure (0: skip)")
    parser.add_argument("--labeler", type=int, default=0, help="reports for the labeller figure (0: skip)")
    args = parser.parse_args()
    if args.labeler:
        lab = labeler_speed(args.labeler, args.repeats)
        print(f"report labeller: {lab['reports']} synthetic reports of {lab['mean_chars']:.0f} characters, 14 findings, "
              f"median of {args.repeats}")
        print(f"  qms.validation.labeler (one compiled pass):   {lab['labeler_reports_s']:9.1f} reports/s (goal > 1,000)")
        print(f"  naive, one regex per phrase and cue:        {lab['naive_reports_s']:9.1f} reports/s")
        print(f"  ratio:                                      {lab['ratio']:9.1f}")
        return
    if args.series:
        s = series_loading(args.series, args.repeats)
        print(f"series to tensor: {s['studies']} studies, 3 sequences, {s['slices']} slices of 128x128, "
              f"median of {args.repeats}")
        print(f"  study_tensor (hash, read, order, resample, stack): {s['ours_slices_s']:9.1f} slices/s")
        print(f"  floor, pydicom dcmread + pixel_array:              {s['floor_slices_s']:9.1f} slices/s")
        print(f"  ratio (goal >= 0.7):                               {s['ratio']:9.2f}  (CPU time: {s['cpu_ratio']:.2f})")
    if args.generation:
        g = generation_speed(args.generation, args.repeats)
        print(f"generation: {g['images']} images, tiny ViT-to-GPT-2, greedy 16 tokens, median of {args.repeats}")
        print(f"  batched (batch {g['batch_size']}): {g['batched_reports_s']:9.1f} reports/s")
        print(f"  one image at a time:  {g['unbatched_reports_s']:9.1f} reports/s")
        print(f"  ratio:                {g['ratio']:9.2f}")
    if args.series or args.generation:
        return
    r = run(args.images, args.repeats, args.device, args.workers, args.batch_size, args.model)
    print(f"device {r['device']} ({r['precision']}, {r['torch_threads']} torch threads, {r['workers']} loader workers), "
          f"model {r['model']}, {r['images']} images of 128x128, batch {r['batch_size']}, median of {r['repeats']}")
    print(f"  pipeline (DICOM read + preprocess + infer): {r['pipeline_img_s']:9.1f} images/s")
    print(f"  baseline, forward pass on ready tensors:    {r['forward_img_s']:9.1f} images/s")
    print(f"  ratio pipeline / forward-only:              {r['ratio']:9.2f}")


if __name__ == "__main__":
    main()
