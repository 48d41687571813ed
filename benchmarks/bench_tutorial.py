"""docs/tutorial.md timed: the sum of its commands' times, from an empty folder to a verified bundle (goal: under 60 s).

Runs the tutorial's shell blocks as `tests/docs/test_tutorial.py` does, timing each block
(wall) and the CPU time of every process they start; the baseline is the start-up floor
of the same number of `qms` invocations (`qms --version`), measured in the same run.
Run it on a quiet machine: wall times grow with the load average, CPU times much less.
With `--per-command`, every `qms` the page runs goes through `/usr/bin/time` (a shim first
on PATH) and the CPU (user+sys, children included) of each is printed, costliest first.
qmskit's own modules are compiled to bytecode first, as an installed qmskit's are (`make
install` does it for the editable install; with PYTHONDONTWRITEBYTECODE set, a checkout
without it recompiles them in every command: `--no-compile` measures that).
"""

from __future__ import annotations

import argparse
import compileall
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


_SHIM = """#!/bin/sh
exec /usr/bin/time -a -o "$QMS_BENCH_TIMES" -f '%U %S %e %C' {qms} "$@"
"""


def _per_command(log: Path) -> list[tuple[float, float, str]]:
    """(CPU s, wall s, command line) of each timed `qms` invocation, in the order run."""
    rows = []
    for line in log.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[0].replace(".", "").isdigit():
            command = parts[3].split(" ", 1)[1] if " " in parts[3] else parts[3]
            rows.append((float(parts[0]) + float(parts[1]), float(parts[2]), f"qms {command}"))
    return rows


def _print_rows(rows: list[tuple[float, float, str]]) -> None:
    if rows:
        print(f"per command ({len(rows)} qms processes, {sum(r[0] for r in rows):.1f} s CPU in all), costliest first:")
        for cpu_s, wall_s, command in sorted(rows, key=lambda r: -r[0]):
            print(f"  {cpu_s:6.2f} s CPU {wall_s:6.2f} s wall  {command[:100]}")


def _compile_sources() -> None:
    """Bytecode of every qmskit module, as `make install` writes it (stale files are recompiled, never trusted)."""
    for folder in ("qms", "traceability", "deid", "models", "validation"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-command", action="store_true", help="time every qms invocation (/usr/bin/time)")
    parser.add_argument("--no-compile", action="store_true", help="leave qmskit's bytecode as it is")
    args = parser.parse_args()
    if not args.no_compile:
        _compile_sources()
    text = TUTORIAL.read_text(encoding="utf-8")
    invocations = sum(len(re.findall(r"(?:^|[;&|(]\s*|do\s+|[A-Z_]+=\S+\s+)qms\s", b, re.MULTILINE))
                      for b in blocks(text))
    qms = str(Path(sys.executable).parent / "qms")
    rows: list[tuple[float, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        shim, log, env = None, Path(tmp) / "times.log", {}
        if args.per_command:
            shim = Path(tmp) / "shim"
            shim.mkdir()
            (shim / "qms").write_text(_SHIM.format(qms=qms), encoding="utf-8")
            (shim / "qms").chmod(0o755)
            env = {"QMS_BENCH_TIMES": str(log)}
        work = Path(tmp) / "work"
        work.mkdir()
        cpu, wall = _children_cpu(), time.perf_counter()
        run = run_tutorial(work, path_first=shim, env_extra=env)
        cpu, wall = _children_cpu() - cpu, time.perf_counter() - wall
        if args.per_command:
            rows = _per_command(log)
    if run.returncode != 0:
        _print_rows(rows)
        raise SystemExit(run.output[-3000:])
    base_cpu, base_wall = _children_cpu(), time.perf_counter()
    for _ in range(invocations):
        subprocess.run([qms, "--version"], check=True, capture_output=True, env={**os.environ})
    base_cpu, base_wall = _children_cpu() - base_cpu, time.perf_counter() - base_wall
    print(f"load average {os.getloadavg()[0]:.1f}; {len(run.seconds)} blocks, {invocations} qms invocations")
    for n, seconds in enumerate(run.seconds):
        print(f"  block {n}: {seconds:6.2f} s wall")
    print(f"tutorial: {sum(run.seconds):.1f} s wall (sum of blocks), {cpu:.1f} s CPU of all its processes")
    print(f"baseline, {invocations} x `qms --version`: {base_wall:.1f} s wall, {base_cpu:.1f} s CPU")
    _print_rows(rows)


if __name__ == "__main__":
    main()
