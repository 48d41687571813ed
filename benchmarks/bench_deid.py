"""Benchmark of DICOM de-identification: files per second, per worker, peak memory, residual PHI.

    python benchmarks/bench_deid.py [--files 5000] [--workers 1 2] [--repeat 3] [--peer-repeat 1]
                                    [--pixels 16] [--text-every 0] [--tools floor qms ...]

Generates synthetic CT files with synthetic PHI (qms.deid.synthetic); with `--pixels N` their
images are N x N 12-bit CT-like anatomy (soft-tissue window), and with `--text-every K` one
file in K carries its synthetic name and MRN burned in at the maximum stored value (the flag
says NO). Then, in the same run, it measures the tools on the same files, each in a fresh
process (so peak memory is its own):
- floor: pydicom reading and writing each file unchanged (nothing can be faster per worker);
- qms: `qms.deid.pipeline.run_batch` with the default (safe) options: text searched on every image;
- qms-no-ocr: the same with OCR off (text search by shape alone): the difference is OCR's share;
- qms-trusted: the same with the synthetic device trusted (its BurnedInAnnotation NO believed):
  no text search, the cost of everything else;
- dicognito: `Anonymizer().anonymize(ds)` with its defaults;
- deid: pydicom/deid `replace_identifiers` with its default recipe.
Then `qms deid verify` is run on each tool's output and its findings are counted, and the pixel
text check (`qms.deid.pixels.find_residual_text`) counts the files still showing text.
Each tool's modules are imported before its clock starts (process start-up is not per-file
work; the import time is reported apart). Floor and qms run `--repeat` times, the peers
`--peer-repeat` times, interleaved; figures are medians, with CPU time (user + system, the
process and its workers) per file beside the wall clock, and the load average around each run;
`paired_ratio_to_floor` is the median of each run's ratio to the floor run just before it.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

TOOLS = ("floor", "qms", "qms-no-ocr", "qms-trusted", "dicognito", "deid")
QMS_TOOLS = ("qms", "qms-no-ocr", "qms-trusted")


def _files(src: Path) -> list[str]:
    return sorted(p.relative_to(src).as_posix() for p in src.rglob("*.dcm"))


def _floor(args: tuple[Path, Path, str]) -> None:
    import pydicom

    src, out, rel = args
    ds = pydicom.dcmread(io.BytesIO((src / rel).read_bytes()))
    buffer = io.BytesIO()
    ds.save_as(buffer)
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    (out / rel).write_bytes(buffer.getvalue())


def _dicognito(args: tuple[Path, Path, str]) -> None:
    import pydicom
    from dicognito.anonymizer import Anonymizer

    src, out, rel = args
    ds = pydicom.dcmread(src / rel)
    Anonymizer().anonymize(ds)
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(out / rel)


def _deid(args: tuple[Path, Path, str]) -> None:
    import logging

    from deid.dicom import replace_identifiers

    logging.disable(logging.WARNING)
    src, out, rel = args
    (ds,) = replace_identifiers(dicom_files=[str(src / rel)], save=False)
    (out / rel).parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(out / rel)


_PEERS = {"floor": _floor, "dicognito": _dicognito, "deid": _deid}


def _qms_batch(tool: str, src: Path, out: Path, workers: int, key_file: Path) -> Any:
    """`run_batch` with the pixel options the qms variant names (see the module docstring)."""
    from qms.deid.keying import DeidKey
    from qms.deid.options import DeidOptions
    from qms.deid.pipeline import run_batch
    from qms.deid.pixels import OcrMode, PixelOptions, TrustedSource

    pixels = {"qms": PixelOptions(), "qms-no-ocr": PixelOptions(ocr=OcrMode.OFF),
              "qms-trusted": PixelOptions(trusted_sources=(TrustedSource("SYNTHETIC"),))}[tool]
    return run_batch(src, out, DeidKey.load(key_file), DeidOptions(), pixels=pixels, workers=workers)


def _warm_up(tool: str, src: Path, first: str, key_file: Path) -> None:
    """The tool once on the first file (a file with burned-in text), outside the clock: what a tool
    loads on first use (region library, tables, decoders) is start-up, not per-file work."""
    with tempfile.TemporaryDirectory(prefix="bench_warm_") as tmp:
        one, out = Path(tmp) / "in", Path(tmp) / "out"
        (one / first).parent.mkdir(parents=True)
        shutil.copyfile(src / first, one / first)
        if tool in QMS_TOOLS:
            _qms_batch(tool, one, out, 1, key_file)
        else:
            _PEERS[tool]((one, out, first))


def _import(tool: str) -> None:
    """What the tool's per-file function imports, loaded once before the clock starts."""
    import pydicom  # noqa: F401

    if tool in QMS_TOOLS:
        import qms.deid.pipeline  # noqa: F401
    elif tool == "dicognito":
        import dicognito.anonymizer  # noqa: F401
    elif tool == "deid":
        import deid.dicom  # noqa: F401


def _cpu_s() -> float:
    return _own_cpu_s() + _children_cpu_s()


def _own_cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _children_cpu_s() -> float:
    """CPU of finished child processes: with one worker, qms's only children are tesseract runs."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def _run_one(tool: str, src: Path, out: Path, workers: int, key_file: Path) -> dict[str, Any]:
    """Run one tool over every file (inside this process and its workers); time it."""
    warnings.simplefilter("ignore")
    files = _files(src)
    t = time.perf_counter()
    _import(tool)
    _warm_up(tool, src, files[0], key_file)
    import_s = time.perf_counter() - t
    load_before = os.getloadavg()[0]
    cpu, children = _cpu_s(), _children_cpu_s()
    start = time.perf_counter()
    if tool in QMS_TOOLS:
        report = _qms_batch(tool, src, out, workers, key_file)
        assert report.processed == len(files), report.to_json()
    else:
        fn = _PEERS[tool]
        tasks = [(src, out, rel) for rel in files]
        if workers == 1:
            for task in tasks:
                fn(task)
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for _ in pool.imap_unordered(fn, tasks, chunksize=32):
                    pass
    seconds = time.perf_counter() - start
    cpu, children = _cpu_s() - cpu, _children_cpu_s() - children
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"tool": tool, "workers": workers, "files": len(files), "seconds": seconds,
            "files_per_s": len(files) / seconds, "per_worker": len(files) / seconds / workers,
            "cpu_ms_per_file": cpu / len(files) * 1e3, "import_s": import_s,
            "child_cpu_share": children / cpu if cpu else 0.0, "ocr_files": _ocr_files(out) if tool in QMS_TOOLS else 0,
            "load": [load_before, os.getloadavg()[0]], "peak_rss_mib": peak_kib / 1024}


def _ocr_files(out: Path) -> int:
    """Files whose pixel report (in the batch manifest) says OCR ran on them."""
    from qms.deid.manifest import read_document

    files = (read_document(out) or {"files": []})["files"]
    entries = files.values() if isinstance(files, dict) else files
    return sum(bool((entry.get("pixels") or {}).get("ocr_ran")) for entry in entries)


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over repeated runs of one tool (and the runs' range of loads)."""
    keys = ("seconds", "files_per_s", "per_worker", "cpu_ms_per_file", "import_s", "peak_rss_mib", "child_cpu_share")
    merged = {**runs[0], **{k: statistics.median(r[k] for r in runs) for k in keys}}
    merged["runs"] = len(runs)
    merged["per_worker_all"] = [round(r["per_worker"], 1) for r in runs]
    merged["load"] = [min(min(r["load"]) for r in runs), max(max(r["load"]) for r in runs)]
    return merged


def _verify(out: Path, src: Path) -> dict[str, Any]:
    from qms.deid.verify import verify

    report = verify(out, src)
    tags = Counter(str(leak.where).split(">")[-1] for leak in report.leaks)
    return {"files_checked": report.files_checked, "leaks": len(report.leaks),
            "files_with_leaks": len({leak.item for leak in report.leaks}), "top_tags": tags.most_common(6)}


def _burn_in(src: Path, size: int, every: int) -> int:
    """Give every file a `size` x `size` CT-like image; one in `every` gets its name and MRN burned in.

    The text is drawn at the maximum stored value (4095, 12 bits) with Pillow's built-in font;
    the files keep BurnedInAnnotation NO, as a wrong flag would. Returns the files with text.
    """
    import numpy as np
    import pydicom
    from PIL import Image, ImageDraw, ImageFont

    yy, xx = np.mgrid[0:size, 0:size]
    body = np.exp(-((xx - size / 2) ** 2 / (2 * (size / 4) ** 2) + (yy - size * 0.55) ** 2 / (2 * (size / 3) ** 2)))
    images = [np.clip(24 + 1076 * body + np.random.default_rng(seed).normal(0, 40, body.shape), 0, 4094)
              for seed in range(8)]
    font = ImageFont.load_default(size=max(10, size // 20))
    burned = 0
    for i, rel in enumerate(_files(src)):
        ds = pydicom.dcmread(src / rel)
        image = images[i % len(images)].astype("<u2")
        if every and i % every == 0:
            layer = Image.new("L", (size, size), 0)
            ImageDraw.Draw(layer).text((6, 4), f"{ds.PatientName} {ds.PatientID}", fill=255, font=font)
            image[np.asarray(layer) > 100] = 4095
            burned += 1
        ds.Rows = ds.Columns = size
        ds.BitsStored, ds.HighBit = 12, 11
        ds.RescaleIntercept, ds.RescaleSlope, ds.WindowCenter, ds.WindowWidth = -1024, 1, 40, 400
        ds.PixelData = image.tobytes()
        ds.save_as(src / rel, enforce_file_format=True)
    return burned


def _pixel_text(root: Path) -> int:
    """Files under `root` in which the pixel text check finds text-like regions."""
    import pydicom

    from qms.deid.pixels import find_residual_text

    return sum(bool(find_residual_text(pydicom.dcmread(root / rel), rel)) for rel in _files(root))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--repeat", type=int, default=3, help="runs of floor and qms (medians)")
    parser.add_argument("--pixels", type=int, default=16, help="image side in pixels")
    parser.add_argument("--text-every", type=int, default=0, help="one file in this many carries burned-in text")
    parser.add_argument("--peer-repeat", type=int, default=1, help="runs of dicognito and deid")
    parser.add_argument("--one", nargs=4, metavar=("TOOL", "SRC", "OUT", "WORKERS"), help=argparse.SUPPRESS)
    parser.add_argument("--key-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        tool, src, out, workers = args.one
        print(json.dumps(_run_one(tool, Path(src), Path(out), int(workers), args.key_file)))
        return

    from qms.deid.keying import DeidKey
    from qms.deid.synthetic import write_synthetic_tree

    with tempfile.TemporaryDirectory(prefix="bench_deid_") as tmp:
        root = Path(tmp)
        src = root / "in"
        t = time.perf_counter()
        write_synthetic_tree(src, args.files, patients=max(1, args.files // 50))
        burned = _burn_in(src, args.pixels, args.text_every) if args.pixels != 16 or args.text_every else 0
        print(f"generated {args.files} synthetic files ({burned} with burned-in text) in "
              f"{time.perf_counter() - t:.1f} s", file=sys.stderr)
        key_file = root / "bench.key"
        DeidKey.generate(key_file)
        results = []
        for workers in args.workers:
            runs: dict[str, list[dict[str, Any]]] = {tool: [] for tool in args.tools}
            for repeat in range(max(args.repeat, args.peer_repeat)):
                for tool in args.tools:
                    if repeat >= (args.repeat if tool in ("floor", *QMS_TOOLS) else args.peer_repeat):
                        continue
                    out = root / f"out-{tool}-{workers}" if repeat == 0 else root / f"out-{tool}-{workers}-{repeat}"
                    cmd = [sys.executable, __file__, "--one", tool, str(src), str(out), str(workers),
                           "--key-file", str(key_file)]
                    line = subprocess.run(cmd, check=True, capture_output=True,
                                          text=True).stdout.strip().splitlines()[-1]
                    result = json.loads(line)
                    runs[tool].append(result)
                    if repeat:
                        shutil.rmtree(out)  # the first run's output is the one verified
                    print(f"{tool:10} workers={workers} {result['files_per_s']:8.1f} files/s "
                          f"({result['per_worker']:.1f}/worker, {result['cpu_ms_per_file']:.2f} ms CPU/file) "
                          f"peak {result['peak_rss_mib']:.0f} MiB, load {result['load'][0]:.1f}-"
                          f"{result['load'][1]:.1f}", file=sys.stderr)
            results += [_median(runs[tool]) for tool in args.tools]
        floor = {r["workers"]: r["per_worker"] for r in results if r["tool"] == "floor"}
        for r in results:
            r["ratio_to_floor"] = r["per_worker"] / floor[r["workers"]] if r["workers"] in floor else None
        floor_runs = {r["workers"]: r["per_worker_all"] for r in results if r["tool"] == "floor"}
        for r in results:  # each run against the floor run just before it: robust to a load that drifts
            pairs = zip(r["per_worker_all"], floor_runs.get(r["workers"], []))
            r["paired_ratio_to_floor"] = statistics.median([a / b for a, b in pairs] or [float("nan")])
        floor_cpu = {r["workers"]: r["cpu_ms_per_file"] for r in results if r["tool"] == "floor"}
        for r in results:
            r["cpu_ratio_to_floor"] = floor_cpu[r["workers"]] / r["cpu_ms_per_file"] if r["workers"] in floor_cpu else None
        findings = {tool: _verify(root / f"out-{tool}-{args.workers[0]}", src)
                    for tool in args.tools if tool != "floor"}
        findings["floor"] = _verify(root / f"out-floor-{args.workers[0]}", src) if "floor" in args.tools else {}
        cpu = {r["tool"]: r["cpu_ms_per_file"] for r in results if r["workers"] == args.workers[0]}
        shares = {f"ocr_share_of_cpu ({r['tool']}, tesseract processes)": r["child_cpu_share"]
                  for r in results if r["tool"] in QMS_TOOLS and r["workers"] == 1}
        if "qms-no-ocr" in cpu and "qms-trusted" in cpu:
            shares["text_search_share_of_cpu"] = max(0.0, 1 - cpu["qms-trusted"] / cpu["qms-no-ocr"])
        text = {"input": _pixel_text(src), **{tool: _pixel_text(root / f"out-{tool}-{args.workers[0]}")
                                              for tool in args.tools if tool in QMS_TOOLS}}
        print(json.dumps({"files": args.files, "pixels": args.pixels, "text_every": args.text_every,
                          "burned_in": burned, "results": results, "cpu_shares": shares,
                          "files_with_pixel_text": text, "verify": findings}, indent=1))


if __name__ == "__main__":
    main()
