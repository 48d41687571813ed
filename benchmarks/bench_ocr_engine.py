"""tesseract kept loaded (`qms.deid.pixels.ocr_engine`) against a `tesseract` binary started per image, in one run.

Reads the same synthetic pages (noisy anatomy-like grey with lines of synthetic text, 200-420 x
260-520 pixels, enlarged as the detector enlarges them) both ways, interleaved in rounds, and
prints CPU seconds per page of this process and every tesseract process (the kept reader's own
CPU read from /proc), wall time per page, and whether both read the same words.

    python benchmarks/bench_ocr_engine.py [--pages 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qms.deid.pixels import PixelOptions, ocr, ocr_engine  # noqa: E402
from tests.deid_pixels.synthetic import text_page  # noqa: E402

def _server_cpu() -> float:
    """CPU seconds of this process's kept tesseract reader so far (0 when none runs)."""
    running = ocr_engine._running
    if running is None or running[1].poll() is not None:
        return 0.0
    fields = Path(f"/proc/{running[1].pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + _server_cpu()


def _timed(read: Callable[[np.ndarray], object], pages: list[np.ndarray]) -> tuple[float, float, list[object]]:
    cpu, wall = _cpu(), time.perf_counter()
    words = [read(p) for p in pages]
    return (_cpu() - cpu) / len(pages), (time.perf_counter() - wall) / len(pages), words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pages = [text_page(seed) for seed in range(args.pages)]
    kept, binary = PixelOptions(), PixelOptions(tesseract_cmd="tesseract")
    ways = {"kept reader": lambda p: ocr._read(p, 2, kept), "binary per image": lambda p: ocr._read(p, 2, binary)}
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    same = True
    for _ in range(args.rounds):
        words = []
        for name, read in ways.items():
            cpu, wall, found = _timed(read, pages)
            results[name].append((cpu, wall))
            words.append(found)
        same = same and words[0] == words[1]
    print(f"load average {os.getloadavg()[0]:.1f}; {args.pages} pages x {args.rounds} rounds, enlarged 2x")
    for name, rows in results.items():
        cpu = statistics.median(r[0] for r in rows)
        wall = statistics.median(r[1] for r in rows)
        print(f"  {name:18s} {cpu * 1000:7.1f} CPU-ms a page  {wall * 1000:7.1f} ms wall a page")
    ratio = statistics.median(b[0] / k[0] for k, b in zip(results["kept reader"], results["binary per image"]))
    print(f"binary / kept reader, CPU a page: {ratio:.2f}x (median of the rounds); same words: {same}")


if __name__ == "__main__":
    main()
