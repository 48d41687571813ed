"""Past one machine: de-identification, dataset manifests and inference through the local and Ray engines.

    python benchmarks/bench_scale.py [--files 20000] [--repeat 3] [--listing 100000 300000 1000000]
                                     [--images 256] [--manifest 100000 400000] [--verify 20000 100000]
                                     [--parts deid dataset inference manifest verify]

deid: `--files` synthetic CT files (synthetic PHI; qms.deid.synthetic) de-identified by
`qms.deid.pipeline.run_batch` with three engines, each in a fresh process, on the same input files, `--repeat`
rounds interleaved (each round starting with the next engine): the local engine with 1 worker (the baseline),
Ray with 2 CPUs, and the local multiprocessing pool with 2 workers. Each run records the load average before
and after it; the ratios are medians of each round's own ratios, so a load that moves between rounds
moves both sides of a ratio.
Ray's start-up is outside the clock (reported apart), its workers' import of the per-file function's modules
included (`RayEngine(preload=...)`), as the local engines' driver imports them before the clock and the pool's
workers inherit them. CPU per file is reported for the driver, the workers and Ray's daemons (raylet, GCS,
agents: /proc), so a loaded machine's runs can be compared by CPU as well as by wall time.
Goals: Ray >= 1.7x the single worker, and within 15 % of the local pool at the same worker count.
The single worker's CPU per file is the figure docs/scale.md plans with. The outputs of the three runs are compared byte for byte.

dataset: `qms dataset create`'s path (`qms.validation.datasetstream.write_manifest`, the labels table
sorted on disk, the files hashed and their headers read, the Parquet file table written) over
labels tables of each `--listing` size (files: hard links to 64 small synthetic CT files,
so a million files cost no disk; put TMPDIR on a tmpfs to keep the disk out of it), each size in
a fresh process, local engine, 1 worker: peak RSS (goal < 1 GB) and time per file (goal: linear,
so flat per file). Every file is really opened, read whole, hashed and parsed.

manifest: the de-identification manifest's end-of-batch merge (`qms.deid.manifest_merge.finalize`) over a
journal of each `--manifest` size of synthetic entries (no DICOM: the merge alone), each in a fresh process:
peak RSS (goal: flat in the entries) and time per entry, then 2,000 resume look-ups by input sha256
(`qms.deid.manifest_lookup`); the baseline, in the same run, is the schema-1 write it replaced: every entry
held in a dict and the manifest dumped as one JSON document.

verify: `qms deid verify` (`qms.deid.verify.verify`, local engine, 1 worker) over 12 synthetic files de-identified
by qms, whose manifest names each `--verify` size more outputs no longer in OUT and whose IN holds as many more
(tiny) files: every entry read, every file of IN hashed, the two joined, every absent name checked, each size in
a fresh process: peak RSS (goal: flat in the entries and files) and CPU per entry.

inference: `--images` synthetic DX images through the tiny ViT of bench_models.py: the local
pipeline (`predict`, DataLoader in process) against Ray (preprocessing on 2 CPU workers, the model
on one actor), scores compared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from qms.hashing import sha256_file

PARTS = ("deid", "dataset", "inference", "manifest", "verify")
_KEY = bytes(range(32))


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _child(args: list[str]) -> tuple[dict[str, Any], float]:
    """Run this script as a child; its JSON line and its peak RSS in MiB (os.wait4's own rusage)."""
    proc = subprocess.Popen([sys.executable, __file__, "--child", *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"child {args} failed with {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1]), usage.ru_maxrss / 1024


# -- children -----------------------------------------------------------------------------------

def _deid_child(engine: str, workers: int, src: Path, out: Path) -> dict[str, Any]:
    from qms.compute.local import LocalEngine
    from qms.deid.keying import DeidKey
    from qms.deid.options import DeidOptions
    from qms.deid.pipeline import run_batch

    start = time.perf_counter()
    if engine == "ray":
        from qms.compute.ray_engine import RayEngine

        runner: Any = RayEngine(num_cpus=workers, preload=("qms.deid.pipeline",))
    else:
        runner = LocalEngine(workers)
    init = time.perf_counter() - start
    procs0, reaped0 = _descendants_cpu(), _reaped_cpu()
    cpu0, start = time.process_time(), time.perf_counter()
    report = run_batch(src, out, DeidKey(_KEY), DeidOptions(), engine=runner)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    procs = _descendants_cpu()
    used = {kind: sum(c - procs0.get(pid, (kind, 0.0))[1] for pid, (k, c) in procs.items() if k == kind)
            for kind in ("worker", "daemon")}
    used["worker"] += _reaped_cpu() - reaped0  # the fork pool's workers, reaped when the pool closes
    return {"seconds": seconds, "cpu": cpu, "workers_cpu": used["worker"], "daemons_cpu": used["daemon"],
            "init": init, "processed": report.processed, "quarantined": len(report.quarantined)}


def _reaped_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _descendants_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every live process below this one, by pid: ("worker", s) for Ray's workers,
    ("daemon", s) for its raylet, GCS, agents and other helpers (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    stat: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parent[int(entry)], stat[int(entry)] = int(fields[1]), fields
    mine, grew = {os.getpid()}, True
    while grew:  # a child's pid may be below its parent's: repeat until nothing is added
        found = {pid for pid, ppid in parent.items() if ppid in mine} - mine
        mine |= found
        grew = bool(found)
    out: dict[int, tuple[str, float]] = {}
    for pid in mine - {os.getpid()}:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[pid]
        title = cmdline.split(b"\0")[0]  # a Ray worker names itself ray::IDLE or ray::<task>; agents ray::...Agent
        out[pid] = ("worker" if title.startswith(b"ray::") and not title.endswith(b"Agent") else "daemon",
                    (int(fields[11]) + int(fields[12])) / tick)
    return out


def _dataset_child(deid: Path, labels: Path, out: Path) -> dict[str, Any]:
    from qms.validation.datasetstream import write_manifest

    cpu0, start = time.process_time(), time.perf_counter()
    written = write_manifest(deid, labels, out, split=None, name="listing", label_columns=["finding"])
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu0, "files": written.files,
            "sha256": written.sha256,
            "parquet_mib": out.stat().st_size / 2**20}


def _inference_child(images: int) -> dict[str, Any]:
    import numpy as np

    from bench_models import make_images, make_model
    from qms.compute.ray_engine import RayEngine
    from qms.models.inference import predict

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files, model = make_images(root, images), make_model(root, "example")
        ray = RayEngine(num_cpus=2)
        predict(model, files[:32], batch_size=32)  # warm-up, outside the clocks
        predict(model, files[:32], batch_size=32, engine=ray)
        start = time.perf_counter()
        local = predict(model, files, batch_size=32)
        local_s = time.perf_counter() - start
        start = time.perf_counter()
        on_ray = predict(model, files, batch_size=32, engine=ray)
        ray_s = time.perf_counter() - start
    return {"images": images, "local_img_s": images / local_s, "ray_img_s": images / ray_s,
            "max_abs_diff": float(np.nanmax(np.abs(local.probabilities - on_ray.probabilities))),
            "cluster": on_ray.environment["cluster"]}


# -- parts --------------------------------------------------------------------------------------

def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(root.rglob("*.dcm"))}


_CONFIGS = (("local, 1 worker", "local", 1), ("ray, 2 CPUs", "ray", 2), ("local pool, 2 workers", "local", 2))


def bench_deid(files: int, repeat: int, tmp: Path) -> dict[str, Any]:
    """The three engines `repeat` times, interleaved (the load of a shared machine moves between runs); the
    ratios are medians of each round's own ratios."""
    from qms.deid.synthetic import write_synthetic_tree

    src = tmp / "in"
    start = time.perf_counter()
    write_synthetic_tree(src, files, patients=max(1, files // 50))
    made = time.perf_counter() - start
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in _CONFIGS}
    first: list[dict[str, str]] = []
    for round_ in range(repeat):
        turn = round_ % len(_CONFIGS)  # each round starts with the next engine, so a load trend favours none
        for name, engine, workers in _CONFIGS[turn:] + _CONFIGS[:turn]:
            out = tmp / f"{name.replace(' ', '_')}-{round_}"
            load_before = _load()
            result, rss = _child(["deid", engine, str(workers), str(src), str(out)])
            per_file = {f"{part}_cpu_ms_per_file": 1000 * result[key] / files
                        for part, key in (("driver", "cpu"), ("workers", "workers_cpu"), ("daemons", "daemons_cpu"))}
            runs[name].append({**result, **per_file, "files_s": result["processed"] / result["seconds"],
                               "peak_rss_mib": rss, "load": f"{load_before} -> {_load()}"})
            print(f"  {name}: {runs[name][-1]['files_s']:.1f} files/s ({result['seconds']:.1f} s, CPU ms a file: "
                  + ", ".join(f"{k.split('_')[0]} {v:.3f}" for k, v in per_file.items())
                  + f"; load {runs[name][-1]['load']})", file=sys.stderr)
            if round_ == 0:
                first.append(_tree(out))  # round 0 runs the engines in _CONFIGS order
            shutil.rmtree(out)
    speed = {name: [r["files_s"] for r in rs] for name, rs in runs.items()}
    base, ray, pool = (speed[name] for name, _, _ in _CONFIGS)
    over_base = statistics.median(r / b for r, b in zip(ray, base, strict=True))
    over_pool = statistics.median(r / p for r, p in zip(ray, pool, strict=True))
    return {"files": files, "repeat": repeat, "generate_s": made, "runs": runs,
            "median_files_s": {name: statistics.median(v) for name, v in speed.items()},
            "identical_outputs": all(o == first[0] for o in first),
            "differing_outputs": sorted({rel for o in first[1:] for rel in set(o) ^ set(first[0]) | {
                r for r in set(o) & set(first[0]) if o[r] != first[0][r]}})[:10],
            "cpu_ms_per_file_1_worker": statistics.median(1000 * r["cpu"] / files for r in runs["local, 1 worker"]),
            "cpu_ms_per_file": {name: {part: statistics.median(r[f"{part}_cpu_ms_per_file"] for r in rs)
                                       for part in ("driver", "workers", "daemons")} for name, rs in runs.items()},
            "ray_over_1_worker": over_base, "ray_over_pool": over_pool,
            "goal_met": over_base >= 1.7 and over_pool >= 0.85}


def _listing(tmp: Path, rows: int) -> tuple[Path, Path]:
    """A de-identified folder of `rows` hard links to 64 synthetic headers, and its labels table in file order."""
    import random

    from qms.deid.synthetic import synthetic_ct

    deid, pool = tmp / "listing", tmp / "pool"
    pool.mkdir(parents=True, exist_ok=True)
    sources = []
    for i in range(64):
        path = pool / f"{i}.dcm"
        synthetic_ct(random.Random(i), i, 0, i).save_as(path, enforce_file_format=True)
        sources.append(path)
    labels = tmp / f"labels-{rows}.csv"
    with labels.open("w", encoding="utf-8") as f:
        f.write("file,split,finding,site\n")
        for i in range(rows):
            rel = f"d{i // 1000:04d}/f{i:07d}.dcm"
            target = deid / rel
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(sources[i % 64], target)
            f.write(f"{rel},test,{i % 2},site-{i % 5}\n")
    return deid, labels


def bench_dataset(sizes: list[int], tmp: Path) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for size in sizes:
        deid, labels = _listing(tmp, size)
        load_before = _load()
        result, rss = _child(["dataset", str(deid), str(labels), str(tmp / f"m-{size}.parquet")])
        out.append({**result, "rows": size, "peak_rss_mib": rss, "us_per_file": 1e6 * result["seconds"] / size,
                    "cpu_us_per_file": 1e6 * result["cpu"] / size, "load": f"{load_before} -> {_load()}"})
        print(f"  {size} files: {result['seconds']:.1f} s, {result['cpu']:.1f} CPU-s, peak RSS {rss:.0f} MiB, "
              f"load {out[-1]['load']}", file=sys.stderr, flush=True)
    per_file = [r["cpu_us_per_file"] for r in out]
    return {"steps": out, "peak_rss_mib": max(r["peak_rss_mib"] for r in out),
            "per_file_spread": max(per_file) / min(per_file), "rss_goal_met": max(r["peak_rss_mib"] for r in out) < 1024}


def _manifest_entries(out: Path, entries: int) -> None:
    """A journal of `entries` synthetic file entries (pseudonyms and hashes only, one patient per 50 files)."""
    import hashlib

    from qms.deid.manifest import FileEntry, Header, Journal

    journal = Journal(out, Header("bench", {"options": []}, "bench"))
    for i in range(entries):
        journal.append(FileEntry(f"p{i // 50:06d}/{i:08d}.dcm", hashlib.sha256(b"in%d" % i).hexdigest(),
                                 hashlib.sha256(b"out%d" % i).hexdigest(), f"PSEUDO{i // 50:06d}",
                                 f"2.25.{i // 200}", {"D": 12, "X": 30, "Z": 4, "U": 3}, None, None,
                                 hashlib.sha256(b"src%d" % i).hexdigest()[:32]))
    journal.close()


def _manifest_child(form: str, entries: int, out: Path) -> dict[str, Any]:
    import hashlib

    from qms.deid.manifest import JOURNAL, Header, journal_items

    out.mkdir(parents=True)
    _manifest_entries(out, entries)
    start, cpu = time.perf_counter(), time.process_time()
    if form == "schema-1":  # the former Manifest.write: every entry in memory, one JSON document
        _, items = journal_items(out)
        files = {item["output"]: item for item in items}
        doc = {"schema": "qms.deid.manifest/1", "files": [e for _, e in sorted(files.items())],
               "patients": len({e["patient"] for e in files.values()})}
        (out / "deid-manifest.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
        (out / JOURNAL).unlink()
        return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "lookup_us": None,
                "merge_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    from qms.deid.manifest_lookup import DoneLookup
    from qms.deid.manifest_merge import finalize

    finalize(out, Header("bench", {"options": []}, "bench"), {"batch_id": "bench"})
    seconds, used = time.perf_counter() - start, time.process_time() - cpu
    merge_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the look-ups map the file
    lookup = DoneLookup(out / "deid-manifest.jsonl")
    t0 = time.perf_counter()
    found = sum(len(lookup.get(hashlib.sha256(b"in%d" % (i * 7919 % entries)).hexdigest())) for i in range(2000))
    assert found == 2000
    return {"seconds": seconds, "cpu": used, "lookup_us": 1e6 * (time.perf_counter() - t0) / 2000,
            "merge_rss_mib": merge_rss}


def bench_manifest(sizes: list[int], tmp: Path) -> dict[str, Any]:
    """The streamed manifest merge against the schema-1 in-memory write, each size and form in a fresh process."""
    steps: list[dict[str, Any]] = []
    for size in sizes:
        for form in ("schema-2", "schema-1"):
            load_before = _load()
            result, rss = _child(["manifest", form, str(size), str(tmp / f"{form}-{size}")])
            steps.append({**result, "form": form, "entries": size, "peak_rss_mib": rss,
                          "us_per_entry": 1e6 * result["seconds"] / size, "load": f"{load_before} -> {_load()}"})
            print(f"  {form} {size} entries: {result['seconds']:.1f} s, peak RSS {rss:.0f} MiB "
                  f"({result['merge_rss_mib']:.0f} MiB to the end of the write), "
                  f"load {steps[-1]['load']}", file=sys.stderr, flush=True)
            shutil.rmtree(tmp / f"{form}-{size}", ignore_errors=True)
    rss = {form: [s["merge_rss_mib"] for s in steps if s["form"] == form] for form in ("schema-2", "schema-1")}
    return {"steps": steps, "rss_growth_schema_2": rss["schema-2"][-1] / rss["schema-2"][0],
            "rss_growth_schema_1": rss["schema-1"][-1] / rss["schema-1"][0]}


def _verify_folder(root: Path, entries: int) -> tuple[Path, Path]:
    """(OUT, IN): 12 synthetic files de-identified, then `entries` manifest entries whose outputs are not in OUT
    and whose inputs (tiny files, no DICOM) are in IN."""
    import hashlib

    from qms.deid.keying import DeidKey
    from qms.deid.manifest import FileEntry, Journal, read_head
    from qms.deid.manifest_merge import finalize
    from qms.deid.options import DeidOptions
    from qms.deid.pipeline import run_batch
    from qms.deid.synthetic import write_synthetic_tree

    source, out = root / "in", root / "out"
    write_synthetic_tree(source, 12, patients=3)
    run_batch(source, out, DeidKey(_KEY), DeidOptions())
    head = read_head(out)
    assert head is not None
    (source / "gone").mkdir()
    journal = Journal(out, head.header)
    for i in range(entries):
        data = b"absent %d" % i
        (source / "gone" / f"{i:08d}.bin").write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        journal.append(FileEntry(f"gone/{i:08d}.dcm", digest, digest, f"PSEUDO{i // 50:06d}", None, {"D": 1}))
    journal.close()
    finalize(out, head.header)
    return out, source


def _verify_child(out: Path, source: Path) -> dict[str, Any]:
    from qms.deid.verify import verify

    start, cpu = time.perf_counter(), time.process_time()
    report = verify(out, source)
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu,
            "files_checked": report.files_checked, "leaks": len(report.leaks)}


def bench_verify(sizes: list[int], tmp: Path) -> dict[str, Any]:
    """verify over manifests of each size more entries (and IN of as many more files), each in a fresh process."""
    steps: list[dict[str, Any]] = []
    for size in sizes:
        out, source = _verify_folder(tmp / f"verify-{size}", size)
        load_before = _load()
        result, rss = _child(["verify", str(out), str(source)])
        steps.append({**result, "entries": size, "peak_rss_mib": rss, "cpu_us_per_entry": 1e6 * result["cpu"] / size,
                      "load": f"{load_before} -> {_load()}"})
        print(f"  verify, {size} more entries and files: {result['seconds']:.1f} s, {result['cpu']:.1f} CPU-s, "
              f"peak RSS {rss:.0f} MiB, load {steps[-1]['load']}", file=sys.stderr, flush=True)
        shutil.rmtree(tmp / f"verify-{size}", ignore_errors=True)
    return {"steps": steps, "rss_growth": steps[-1]["peak_rss_mib"] / steps[0]["peak_rss_mib"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds of the three deid runs")
    parser.add_argument("--listing", type=int, nargs="+", default=[100_000, 300_000, 1_000_000],
                        help="listing sizes for the dataset part")
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--manifest", type=int, nargs="+", default=[100_000, 400_000],
                        help="journal sizes for the manifest part")
    parser.add_argument("--verify", type=int, nargs="+", default=[20_000, 100_000],
                        help="more manifest entries (and IN files) for the verify part")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "deid":
            result = _deid_child(rest[0], int(rest[1]), Path(rest[2]), Path(rest[3]))
        elif kind == "dataset":
            result = _dataset_child(Path(rest[0]), Path(rest[1]), Path(rest[2]))
        elif kind == "manifest":
            result = _manifest_child(rest[0], int(rest[1]), Path(rest[2]))
        elif kind == "verify":
            result = _verify_child(Path(rest[0]), Path(rest[1]))
        else:
            result = _inference_child(int(rest[0]))
        print(json.dumps(result))
        return
    report: dict[str, Any] = {"cpus": os.cpu_count(), "load_start": _load()}
    with tempfile.TemporaryDirectory() as tmp:
        if "deid" in args.parts:
            report["deid"] = bench_deid(args.files, args.repeat, Path(tmp) / "deid")
        if "dataset" in args.parts:
            report["dataset"] = bench_dataset(sorted(args.listing), Path(tmp) / "dataset")
        if "inference" in args.parts:
            report["inference"], rss = _child(["inference", str(args.images)])
        if "manifest" in args.parts:
            report["manifest"] = bench_manifest(sorted(args.manifest), Path(tmp) / "manifest")
        if "verify" in args.parts:
            report["verify"] = bench_verify(sorted(args.verify), Path(tmp) / "verify")
    report["load_end"] = _load()
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
