"""Benchmark of DICOM de-identification: files per second, per worker, peak memory, residual PHI.

    python benchmarks/bench_deid.py [--files 5000] [--workers 1 2]

Generates synthetic CT files with synthetic PHI (qms.deid.synthetic), then, in the same run,
measures four tools on the same files, each in a fresh process (so peak memory is its own):
- floor: pydicom reading and writing each file unchanged (nothing can be faster per worker);
- qms: `qms.deid.pipeline.run_batch` with the default (safe) options;
- dicognito: `Anonymizer().anonymize(ds)` with its defaults;
- deid: pydicom/deid `replace_identifiers` with its default recipe.
Then `qms deid verify` is run on each tool's output and its findings are counted.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

TOOLS = ("floor", "qms", "dicognito", "deid")


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


def _run_one(tool: str, src: Path, out: Path, workers: int, key_file: Path) -> dict[str, Any]:
    """Run one tool over every file (inside this process and its workers); time it."""
    warnings.simplefilter("ignore")
    files = _files(src)
    start = time.perf_counter()
    if tool == "qms":
        from qms.deid.keying import DeidKey
        from qms.deid.options import DeidOptions
        from qms.deid.pipeline import run_batch

        report = run_batch(src, out, DeidKey.load(key_file), DeidOptions(), workers=workers)
        assert report.processed == len(files), report.to_json()
    else:
        fn = {"floor": _floor, "dicognito": _dicognito, "deid": _deid}[tool]
        tasks = [(src, out, rel) for rel in files]
        if workers == 1:
            for task in tasks:
                fn(task)
        else:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for _ in pool.imap_unordered(fn, tasks, chunksize=32):
                    pass
    seconds = time.perf_counter() - start
    peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"tool": tool, "workers": workers, "files": len(files), "seconds": seconds,
            "files_per_s": len(files) / seconds, "per_worker": len(files) / seconds / workers,
            "peak_rss_mib": peak_kib / 1024}


def _verify(out: Path, src: Path) -> dict[str, Any]:
    from qms.deid.verify import verify

    report = verify(out, src)
    tags = Counter(leak.source_tag.split(">")[-1] for leak in report.leaks)
    return {"files_checked": report.files_checked, "leaks": len(report.leaks),
            "files_with_leaks": len({leak.file for leak in report.leaks}), "top_source_tags": tags.most_common(6)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
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
        print(f"generated {args.files} synthetic files in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        key_file = root / "bench.key"
        DeidKey.generate(key_file)
        results = []
        for workers in args.workers:
            for tool in args.tools:
                out = root / f"out-{tool}-{workers}"
                cmd = [sys.executable, __file__, "--one", tool, str(src), str(out), str(workers),
                       "--key-file", str(key_file)]
                line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
                result = json.loads(line)
                results.append(result)
                print(f"{tool:10} workers={workers} {result['files_per_s']:8.1f} files/s "
                      f"({result['per_worker']:.1f}/worker) peak {result['peak_rss_mib']:.0f} MiB", file=sys.stderr)
        floor = {r["workers"]: r["per_worker"] for r in results if r["tool"] == "floor"}
        for r in results:
            r["ratio_to_floor"] = r["per_worker"] / floor[r["workers"]] if r["workers"] in floor else None
        findings = {tool: _verify(root / f"out-{tool}-{args.workers[0]}", src)
                    for tool in args.tools if tool != "floor"}
        findings["floor"] = _verify(root / f"out-floor-{args.workers[0]}", src) if "floor" in args.tools else {}
        print(json.dumps({"files": args.files, "results": results, "verify": findings}, indent=1))


if __name__ == "__main__":
    main()
