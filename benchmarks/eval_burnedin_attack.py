"""Recall of `qms deid dicom` and `qms deid verify` on adversarial burned-in text (benchmarks/burnedin_cases.py).

    python benchmarks/eval_burnedin_attack.py --seed 8808 --per-text 8 --per-clean 10 [--json]

Generates the images, runs the real CLI in a fresh QMS_HOME and project (keygen, `deid dicom` with the default
options, `deid verify --against` the sources), and scores each planted line of text: masked when 80 % of its
stroke pixels changed (or its box now holds one value), partly when 20-80 % did. Per category: lines planted,
masked, partly, recall, files that still show text, and of those the ones verify called clean; the area masked
outside the planted lines. On the clean images: files whose pixels changed, the masked area, files verify flagged.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

from burnedin_attack import Case, read_pixels  # noqa: E402
from burnedin_cases import generate  # noqa: E402

MASKED, PARTLY = 0.8, 0.2


def qms(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, Any, float]:
    """Run the CLI with --json; its exit status, parsed output and CPU seconds (the child's)."""
    before = os.times()
    proc = subprocess.run([str(Path(sys.executable).parent / "qms"), *args, "--json"], env=env, cwd=cwd,
                          capture_output=True, text=True, check=False)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    try:
        out = json.loads(proc.stdout)
    except json.JSONDecodeError:
        out = {"stdout": proc.stdout[-2000:], "stderr": proc.stderr[-2000:]}
    return proc.returncode, out, cpu


def changed(before: NDArray[np.float64], after: NDArray[np.float64]) -> NDArray[np.bool_]:
    diff = np.abs(before - after)
    return diff.max(axis=2) > 2 if diff.ndim == 3 else diff > 0


def score_line(mask: NDArray[np.bool_], moved: NDArray[np.bool_], after: NDArray[np.float64]) -> str:
    frac = float(moved[mask].mean())
    ys, xs = np.nonzero(mask)
    box = after[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    flat = box.reshape(-1, box.shape[2]) if box.ndim == 3 else box.reshape(-1, 1)
    _, counts = np.unique(flat, axis=0, return_counts=True)
    if frac >= MASKED or counts.max() >= 0.95 * len(flat):
        return "masked"
    return "partly" if frac >= PARTLY else "missed"


def leaked_files(report: Any) -> set[str]:
    """Output file names verify reported, whatever key its leak entries name them by."""
    names: set[str] = set()
    for leak in report.get("leaks", []) if isinstance(report, dict) else []:
        for value in (leak.values() if isinstance(leak, dict) else [leak]):
            if isinstance(value, str) and value.endswith(".dcm"):
                names.add(Path(value).name)
    return names


def glyph_value(ds: Any, before: NDArray[np.float64], mask: NDArray[np.bool_]) -> str:
    """Where the glyphs' cores (90th percentile of their stroke pixels) sit: at a stored extreme, or how
    bright they are shown (window, rescale, MONOCHROME1; the frame's own range without a window)."""
    if before.ndim == 3:
        return "colour (US)"
    bits = int(ds.BitsStored)
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if ds.PixelRepresentation == 1 else (0, 2 ** bits - 1)
    quantile = 10 if ds.PhotometricInterpretation == "MONOCHROME1" else 90
    core = float(np.percentile(before[mask], quantile))
    if core in (lo, hi):
        return "stored extreme"
    if "WindowCenter" in ds:
        slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
        shown = (core * slope + intercept - (float(ds.WindowCenter) - float(ds.WindowWidth) / 2)) / float(ds.WindowWidth)
    else:
        shown = (core - before.min()) / max(float(np.ptp(before)), 1.0)
    shown = 1 - shown if ds.PhotometricInterpretation == "MONOCHROME1" else shown
    if shown >= 0.98:
        return "shown white (>= 0.98), not a stored extreme"
    return "shown 0.88-0.98" if shown >= 0.88 else "shown below 0.88 (grey, faint or dark text)"


def outside_area(case: Case, moved: NDArray[np.bool_]) -> float:
    """Share of the image masked away from every planted line's box (grown by 4 px)."""
    keep = np.zeros(moved.shape, dtype=bool)
    for m in case.lines:
        ys, xs = np.nonzero(m)
        keep[max(0, ys.min() - 4): ys.max() + 5, max(0, xs.min() - 4): xs.max() + 5] = True
    return float((moved & ~keep).mean())


Rows = dict[str, dict[str, float]]


def evaluate(cases: list[Case], src: Path, out: Path, flagged: set[str]) -> tuple[Rows, Rows, list[dict[str, Any]]]:
    rows: Rows = defaultdict(lambda: defaultdict(float))
    cuts: Rows = defaultdict(lambda: defaultdict(float))
    misses: list[dict[str, Any]] = []
    for case in cases:
        row = rows[case.category]
        row["files"] += 1
        if not (out / case.name).exists():
            row["quarantined"] += 1
            continue
        before, after = read_pixels(src / case.name), read_pixels(out / case.name)
        ds = pydicom.dcmread(src / case.name, stop_before_pixels=True)
        moved = changed(before, after)
        row["masked_px"] += float(moved.mean())
        row["verify_flagged"] += case.name in flagged
        if not case.lines:
            row["changed_files"] += bool(moved.any())
            row["max_masked_px"] = max(row["max_masked_px"], float(moved.mean()))
            continue
        row["outside_px"] += outside_area(case, moved)
        left = False
        for mask, text in zip(case.lines, case.texts, strict=True):
            verdict = score_line(mask, moved, after)
            row["lines"] += 1
            row[verdict] += 1
            for cut in (f"glyphs at: {glyph_value(ds, before, mask)}", f"modality: {case.modality}"):
                cuts[cut]["lines"] += 1
                cuts[cut][verdict] += 1
            if verdict != "masked":
                left = True
                misses.append({"file": case.name, "category": case.category, "modality": case.modality,
                               "verdict": verdict, "chars": len(text), "height": int(np.ptp(np.nonzero(mask.any(axis=1))[0])) + 1})
        row["text_left"] += left
        row["left_called_clean"] += left and case.name not in flagged
    return rows, cuts, misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=8808)
    parser.add_argument("--per-text", type=int, default=8, help="images per text category")
    parser.add_argument("--per-clean", type=int, default=10, help="images per clean category")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="write the corpus and outputs here instead of a temporary folder")
    parser.add_argument("--verify-ocr", choices=("off", "when-needed", "always"),
                        help="`qms deid verify --ocr MODE` (default: the project's setting)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        (root / "home").mkdir(parents=True, exist_ok=True)
        (root / "project").mkdir(exist_ok=True)
        env = {**os.environ, "QMS_HOME": str(root / "home"), "QMS_USER": "burnedin-attack"}
        env.pop("QMS_DATABASE_URL", None)
        t0 = time.perf_counter()
        cases = generate(args.seed, root / "in", args.per_text, args.per_clean)
        t_gen = time.perf_counter() - t0
        key = root / "home" / "deid.key"
        if not key.exists():
            qms(["deid", "keygen", str(key)], env, root)
        if not (root / "project" / "qms.toml").exists():
            qms(["init"], env, root / "project")
        t0 = time.perf_counter()
        rc, batch, cpu_batch = qms(["deid", "dicom", str(root / "in"), str(root / "out"), "--key-file", str(key),
                                    "--workers", str(args.workers)], env, root / "project")
        t_batch = time.perf_counter() - t0
        t0 = time.perf_counter()
        vrc, report, cpu_verify = qms(["deid", "verify", str(root / "out"), "--against", str(root / "in"),
                                       "--workers", str(args.workers),
                                       *(["--ocr", args.verify_ocr] if args.verify_ocr else [])], env, root / "project")
        t_verify = time.perf_counter() - t0
        rows, cuts, misses = evaluate(cases, root / "in", root / "out", leaked_files(report))
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    result = {"seed": args.seed, "files": len(cases), "load_average": load, "deid_exit": rc, "verify_exit": vrc,
              "verify_leaks": len(report.get("leaks", [])) if isinstance(report, dict) else None,
              "seconds": {"generate": round(t_gen, 1), "deid": round(t_batch, 1), "verify": round(t_verify, 1)},
              "cpu_seconds": {"deid": round(cpu_batch, 1), "verify": round(cpu_verify, 1)},
              "categories": {k: dict(v) for k, v in rows.items()}, "cuts": {k: dict(v) for k, v in sorted(cuts.items())},
              "misses": misses,
              "verify_sample": (report.get("leaks", [])[:2] if isinstance(report, dict) else report)}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"seed {args.seed}, {len(cases)} files; load average {load}; deid exit {rc} ({t_batch:.1f} s, CPU {cpu_batch:.1f} s), "
          f"verify exit {vrc} ({t_verify:.1f} s, CPU {cpu_verify:.1f} s), generation {t_gen:.1f} s")
    print("\n| category | files | lines | masked | partly | recall | files with text left | ... verify called clean "
          "| masked outside text, % image |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    totals: dict[str, float] = defaultdict(float)
    for name, r in rows.items():
        if not r["lines"]:
            continue
        for k in ("files", "lines", "masked", "partly", "text_left", "left_called_clean", "quarantined"):
            totals[k] += r[k]
        q = f" (+{int(r['quarantined'])} quarantined)" if r["quarantined"] else ""
        print(f"| {name} | {int(r['files'])}{q} | {int(r['lines'])} | {int(r['masked'])} | {int(r['partly'])} | "
              f"{r['masked'] / r['lines']:.2f} | {int(r['text_left'])} | {int(r['left_called_clean'])} | "
              f"{100 * r['outside_px'] / max(1, r['files'] - r['quarantined']):.1f} |")
    print(f"| **all text** | {int(totals['files'])} | {int(totals['lines'])} | {int(totals['masked'])} | "
          f"{int(totals['partly'])} | {totals['masked'] / max(1, totals['lines']):.3f} | {int(totals['text_left'])} | "
          f"{int(totals['left_called_clean'])} | |")
    print("\n| lines by | lines | masked | partly | recall |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in sorted(cuts.items()):
        print(f"| {name} | {int(r['lines'])} | {int(r['masked'])} | {int(r['partly'])} | {r['masked'] / r['lines']:.2f} |")
    print("\n| clean category | files | files changed | mean masked, % image | max masked, % image | verify flagged |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in rows.items():
        if r["lines"]:
            continue
        n = max(1, r["files"] - r["quarantined"])
        print(f"| {name} | {int(r['files'])} | {int(r['changed_files'])} | {100 * r['masked_px'] / n:.2f} | "
              f"{100 * r['max_masked_px']:.2f} | {int(r['verify_flagged'])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
