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

`--baseline-tree DIR` (a checkout made with `git worktree add DIR COMMIT`) runs the tutorial with that
checkout's code too, through this virtual environment (its editable install is pointed at DIR by a
`sitecustomize` on PYTHONPATH), alternating with this one's for `--rounds` rounds: a before/after in
one run, on the same machine minutes apart. Each tree runs its own docs/tutorial.md (a change may change the page).
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QMS = str(Path(sys.executable).parent / "qms")
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


def _compile_sources(root: Path) -> None:
    """Bytecode of every qmskit module, as `make install` writes it (stale files are recompiled, never trusted)."""
    for folder in ("qms", "traceability", "deid", "models", "validation"):
        compileall.compile_dir(root / folder, quiet=1)


_REDIRECT = """import __editable___qmskit_0_1_0_finder as finder

finder.MAPPING = {{k: v.replace({here!r}, {tree!r}) for k, v in finder.MAPPING.items()}}
finder.NAMESPACES = {{k: [p.replace({here!r}, {tree!r}) for p in v] for k, v in finder.NAMESPACES.items()}}
"""


def _redirect(tree: Path, folder: Path) -> dict[str, str]:
    """The environment that makes this virtual environment's `qms` run `tree`'s code (its editable finder's map)."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(_REDIRECT.format(here=str(ROOT), tree=str(tree.resolve())), encoding="utf-8")
    return {"PYTHONPATH": str(folder)}


@dataclass
class Timed:
    """One run of the tutorial: wall of its blocks, CPU of its processes, and each `qms` with --per-command."""

    seconds: tuple[float, ...]
    cpu: float
    rows: list[tuple[float, float, str]]

    @property
    def wall(self) -> float:
        return sum(self.seconds)


def _run(text: str, per_command: bool, env: dict[str, str]) -> Timed:
    with tempfile.TemporaryDirectory() as tmp:
        shim, log, extra = None, Path(tmp) / "times.log", dict(env)
        if per_command:
            shim = Path(tmp) / "shim"
            shim.mkdir()
            (shim / "qms").write_text(_SHIM.format(qms=QMS), encoding="utf-8")
            (shim / "qms").chmod(0o755)
            extra["QMS_BENCH_TIMES"] = str(log)
        work = Path(tmp) / "work"
        work.mkdir()
        cpu = _children_cpu()
        run = run_tutorial(work, text, path_first=shim, env_extra=extra)
        cpu = _children_cpu() - cpu
        rows = _per_command(log) if per_command else []
    if run.returncode != 0:
        _print_rows(rows)
        raise SystemExit(run.output[-3000:])
    return Timed(run.seconds, cpu, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-command", action="store_true", help="time every qms invocation (/usr/bin/time)")
    parser.add_argument("--no-compile", action="store_true", help="leave qmskit's bytecode as it is")
    parser.add_argument("--baseline-tree", type=Path, default=None,
                        help="another checkout whose code also runs the tutorial, alternating (before/after in one run)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each tree")
    args = parser.parse_args()
    trees = {"this tree": ROOT, **({"baseline tree": args.baseline_tree} if args.baseline_tree else {})}
    if not args.no_compile:
        for tree in trees.values():
            _compile_sources(tree)
    texts = {name: (tree / TUTORIAL.relative_to(ROOT)).read_text(encoding="utf-8") for name, tree in trees.items()}
    invocations = sum(len(re.findall(r"(?:^|[;&|(]\s*|do\s+|[A-Z_]+=\S+\s+)qms\s", b, re.MULTILINE))
                      for b in blocks(texts["this tree"]))
    runs: dict[str, list[Timed]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        envs = {name: {} if tree == ROOT else _redirect(tree, Path(tmp) / "redirect") for name, tree in trees.items()}
        for _ in range(args.rounds):
            for name in reversed(trees):  # the baseline first in each round
                runs[name].append(_run(texts[name], args.per_command, envs[name]))
                print(f"{name}: {runs[name][-1].wall:.1f} s wall, {runs[name][-1].cpu:.1f} s CPU", flush=True)
    base_cpu, base_wall = _children_cpu(), time.perf_counter()
    for _ in range(invocations):
        subprocess.run([QMS, "--version"], check=True, capture_output=True, env={**os.environ})
    base_cpu, base_wall = _children_cpu() - base_cpu, time.perf_counter() - base_wall
    last = runs["this tree"][-1]
    print(f"load average {os.getloadavg()[0]:.1f}; {len(last.seconds)} blocks, {invocations} qms invocations")
    for n, seconds in enumerate(last.seconds):
        print(f"  block {n}: {seconds:6.2f} s wall")
    for name, timed in runs.items():
        walls, cpus = [t.wall for t in timed], [t.cpu for t in timed]
        print(f"tutorial, {name}: {statistics.median(walls):.1f} s wall (sum of blocks; runs "
              f"{', '.join(f'{w:.1f}' for w in walls)}), {statistics.median(cpus):.1f} s CPU of all its processes "
              f"(runs {', '.join(f'{c:.1f}' for c in cpus)})")
    print(f"baseline, {invocations} x `qms --version`: {base_wall:.1f} s wall, {base_cpu:.1f} s CPU")
    for name, timed in runs.items():
        if args.per_command:
            print(f"{name}, last run:")
            _print_rows(timed[-1].rows)


if __name__ == "__main__":
    main()
