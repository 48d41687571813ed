"""GPU check of the inference pipeline: CPU and CUDA agree, and input keeps up with the GPU.

For the lead to run on a machine with a CUDA device (finishes in well under 3 minutes):

    python benchmarks/gpu_check_models.py [--images 2048] [--workers 8]

1. Agreement: the same seeded model and the same DICOM files through `predict` on CPU
   (fp32) and on CUDA in fp32 and in the default autocast precision (bf16, else fp16).
   Tolerances, on probabilities: fp32 <= 1e-4 absolute; bf16/fp16 <= 2e-2 absolute.
2. Throughput on CUDA, same run: pipeline (DICOM read + preprocess + infer) against the
   forward pass alone on ready tensors, for the example model and for ViT-B/16 at 224.
   Goal (issue #2): pipeline >= 0.7x forward-only.
Exit 0 when agreement holds (throughput is reported, not judged), 1 when it does not,
2 without a CUDA device.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_models import make_images, make_model, run  # noqa: E402

from qms.models.inference import predict, resolve_precision  # noqa: E402

TOLERANCE = {"fp32": 1e-4, "bf16": 2e-2, "fp16": 2e-2}


def agreement(images: int, workers: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = make_images(root, images)
        model = make_model(root, "example")
        cpu = predict(model, files, batch_size=64, workers=workers, device="cpu").probabilities
        ok = True
        for precision in sorted({"fp32", resolve_precision(torch.device("cuda"), None)}):
            gpu = predict(model, files, batch_size=64, workers=workers, device="cuda", precision=precision).probabilities
            worst = float(np.max(np.abs(cpu - gpu)))
            passed = worst <= TOLERANCE[precision]
            ok &= passed
            print(f"  CPU fp32 vs CUDA {precision}: max |dp| = {worst:.2e} (tolerance {TOLERANCE[precision]:.0e}) "
                  f"{'ok' if passed else 'FAILED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device here: nothing to check", file=sys.stderr)
        return 2
    print(f"device {torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")  # type: ignore[no-untyped-call]
    print("agreement (256 images):")
    ok = agreement(256, min(args.workers, 4))
    print(f"throughput ({args.images} images of 128x128, {args.workers} loader workers, median of 3):")
    for kind, batch in (("example", 256), ("vit-base", 128)):
        r = run(args.images, 3, "cuda", args.workers, batch, kind)
        print(f"  {kind:<9} {r['precision']}: pipeline {r['pipeline_img_s']:8.0f} images/s, forward-only "
              f"{r['forward_img_s']:8.0f} images/s, ratio {r['ratio']:.2f} (goal >= 0.70)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
