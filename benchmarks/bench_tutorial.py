"""docs/tutorial.md timed: the sum of its commands' times, from an empty folder to a verified bundle (goal: under 60 s).

Runs the tutorial's shell blocks as `tests/docs/test_tutorial.py` does, timing each block
(wall) and the CPU time of every process they start; the baseline is the start-up floor
of the same number of `qms` invocations (`qms --version`), measured in the same run.
Run it on a quiet machine: wall times grow with the load average, CPU times much less.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.docs.tutorial import TUTORIAL, blocks, run_tutorial  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    text = TUTORIAL.read_text(encoding="utf-8")
    invocations = sum(len(re.findall(r"(?:^|[;&|(]\s*|do\s+|[A-Z_]+=\S+\s+)qms\s", b, re.MULTILINE))
                      for b in blocks(text))
    with tempfile.TemporaryDirectory() as tmp:
        cpu, wall = _children_cpu(), time.perf_counter()
        run = run_tutorial(Path(tmp))
        cpu, wall = _children_cpu() - cpu, time.perf_counter() - wall
    if run.returncode != 0:
        raise SystemExit(run.output[-3000:])
    qms = str(Path(sys.executable).parent / "qms")
    base_cpu, base_wall = _children_cpu(), time.perf_counter()
    for _ in range(invocations):
        subprocess.run([qms, "--version"], check=True, capture_output=True, env={**os.environ})
    base_cpu, base_wall = _children_cpu() - base_cpu, time.perf_counter() - base_wall
    print(f"load average {os.getloadavg()[0]:.1f}; {len(run.seconds)} blocks, {invocations} qms invocations")
    for n, seconds in enumerate(run.seconds):
        print(f"  block {n}: {seconds:6.2f} s wall")
    print(f"tutorial: {sum(run.seconds):.1f} s wall (sum of blocks), {cpu:.1f} s CPU of all its processes")
    print(f"baseline, {invocations} x `qms --version`: {base_wall:.1f} s wall, {base_cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
