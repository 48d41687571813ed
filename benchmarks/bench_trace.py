"""Benchmark of traceability: load, check and trace a generated project; doorstop as the baseline.

    python benchmarks/bench_trace.py [--items 5000] [--tests 20000] [--large 50000] [--repeats 5]

For each size, a fresh project (gen_trace_project.py) and a store holding one passing run
of its tests. A child process (so peak RSS is its own) times `trace(project, store)`:
cold (no cache in .qms/), then warm (nothing changed: the whole report is read from its
cache), then the HTML page. Before each timed call the previous report is dropped and
collected, as in a `qms trace` process, which holds one report. In the same run, doorstop
validates the equivalent tree (`doorstop -F`), timed as a child process. The load
average is printed at the start and the end (the machine is shared).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def measure(root: Path, url: str, repeats: int) -> dict[str, float]:
    """Run inside the child: every figure of one project."""
    from qms.config import load_project
    from qms.store import open_store
    from qms.traceability import trace
    from qms.traceability.html import render_html

    project = load_project(root)
    store = open_store(url, create=False)
    cold, warm, cold_cpu, warm_cpu = [], [], [], []
    report = None
    for _ in range(repeats):
        for cached in (project.records_dir / "cache").glob("*"):
            cached.unlink()
        for times, cpus in ((cold, cold_cpu), (warm, warm_cpu)):
            report = None
            gc.collect()
            start, cpu = time.perf_counter(), time.process_time()
            report = trace(project, store)
            times.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
    assert report is not None and report.passed, report and [g.text() for g in report.blocking[:5]]
    start, cpu = time.perf_counter(), time.process_time()
    page = render_html(report, project.config.device)
    html, html_cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the check below holds a second report
    html_mb = len(page.encode()) / 1e6
    del page
    assert report == trace(project, store, use_cache=False), "the cached report differs from an uncached one"
    return {"cold_s": statistics.median(cold), "warm_s": statistics.median(warm), "html_s": html,
            "cold_cpu_s": statistics.median(cold_cpu), "warm_cpu_s": statistics.median(warm_cpu), "html_cpu_s": html_cpu,
            "html_mb": html_mb, "peak_rss_mb": peak,
            "items": len(report.rows), "tests": len(report.tests)}


def _child(root: Path, url: str, repeats: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--measure", str(root), url, str(repeats)],
                         check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _doorstop(root: Path) -> dict[str, float]:
    doorstop = Path(sys.executable).parent / "doorstop"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([str(doorstop), "-F", "-q"], cwd=root, check=False, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def bench(items: int, tests: int, repeats: int, work: Path, with_doorstop: bool) -> dict[str, object]:
    from gen_trace_project import generate, generate_doorstop

    from qms.store import open_store
    from qms.traceability import record_run

    root = work / f"p{items}"
    run = generate(root, items, tests)
    url = f"sqlite:///{work / f'store{items}.db'}"
    store = open_store(url)
    record_run(store, run, "bench")
    store.dispose()
    figures: dict[str, object] = {"qmskit": _child(root, url, repeats)}
    if with_doorstop:
        generate_doorstop(work / f"d{items}", items)
        figures["doorstop"] = _doorstop(work / f"d{items}")
    return figures


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--measure":
        print(json.dumps(measure(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--tests", type=int, default=20000)
    parser.add_argument("--large", type=int, default=50000, help="second size for the linearity check (0: skip)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-doorstop", action="store_true")
    args = parser.parse_args()
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp:
        small = bench(args.items, args.tests, args.repeats, Path(tmp), not args.no_doorstop)
        print(json.dumps({str(args.items): small}, indent=2))
        q = small["qmskit"]
        assert isinstance(q, dict)
        print(f"\n{args.items} items, {q['tests']} tests: cold {q['cold_s']:.2f} s ({q['cold_cpu_s']:.2f} CPU-s), "
              f"warm {q['warm_s']:.3f} s ({q['warm_cpu_s']:.3f} CPU-s), HTML {q['html_s']:.2f} s "
              f"({q['html_cpu_s']:.2f} CPU-s), peak RSS {q['peak_rss_mb']:.0f} MB")
        if "doorstop" in small:
            d = small["doorstop"]
            assert isinstance(d, dict)
            print(f"doorstop -F on the same tree: {d['wall_s']:.2f} s wall, {d['cpu_s']:.2f} s CPU; "
                  f"ratio doorstop / qmskit cold: {d['cpu_s'] / q['cold_cpu_s']:.0f}x CPU, {d['wall_s'] / q['cold_s']:.0f}x wall")
        if args.large:
            large = bench(args.large, args.tests * args.large // args.items, max(1, args.repeats // 2), Path(tmp), False)
            big = large["qmskit"]
            assert isinstance(big, dict)
            print(json.dumps({str(args.large): large}, indent=2))
            print(f"{args.large} items, {big['tests']} tests: cold {big['cold_s']:.2f} s ({big['cold_cpu_s']:.2f} CPU-s, "
                  f"{big['cold_cpu_s'] / q['cold_cpu_s']:.1f}x for {args.large / args.items:.0f}x items), "
                  f"warm {big['warm_s']:.2f} s ({big['warm_cpu_s']:.2f} CPU-s), peak RSS {big['peak_rss_mb']:.0f} MB")
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
