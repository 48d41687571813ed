"""Benchmark: `qms selftest` wall time, the whole IQ/OQ suite, signed and recorded (goal: under 3 minutes).

Runs the installed `qms` command in a fresh device project with a scratch CA and a service
identity (so it signs without a prompt), as a user would: `qms selftest --sign-as ci --json`.
Baseline, same run: `qms --version` (the interpreter and CLI start-up every command pays).
Per-check times come from the command's own JSON.

    python benchmarks/bench_selftest.py [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qms.signing import Role, add_user, init_ca
from qms.store import open_store

QMS = str(Path(sys.executable).with_name("qms"))
PASS = "bench-selftest-passphrase"


def _project(tmp: Path) -> tuple[Path, dict[str, str]]:
    root, home = tmp / "project", tmp / "home"
    root.mkdir()
    (root / "qms.toml").write_text('[tool.qms]\ndevice = "Bench"\nintended_use = "benchmark"\nsafety_class = "B"\n')
    store = open_store(f"sqlite:///{root / '.qms' / 'qms.db'}")
    init_ca(home, "Bench Ltd (synthetic)", PASS)
    add_user(store, home, "ci", "CI pipeline", Role.SERVICE, PASS, PASS, actor="bench")
    store.dispose()
    env = {**os.environ, "QMS_HOME": str(home), "QMS_SIGNING_PASSPHRASE": PASS, "QMS_USER": "bench"}
    env.pop("QMS_DATABASE_URL", None)
    return root, env


def _timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, env = _project(Path(tmp))
        base = [_timed([QMS, "--version"], root, env)[0] for _ in range(3)]
        runs, last = [], None
        for _ in range(args.repeats):
            seconds, done = _timed([QMS, "selftest", "--sign-as", "ci", "--json"], root, env)
            if done.returncode != 0:
                sys.exit(f"qms selftest failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
            runs.append(seconds)
            last = json.loads(done.stdout)
    assert last is not None
    print(f"qms --version (baseline, start-up): {statistics.median(base):.2f} s")
    print(f"qms selftest --sign-as ci (whole suite, report signed and recorded): median {statistics.median(runs):.1f} s "
          f"of {len(runs)} (goal < 180 s: {'met' if max(runs) < 180 else 'NOT met'})")
    for check in last["checks"]:
        print(f"  {check['id']:<16} {check['seconds']:6.2f} s  {'passed' if check['passed'] else 'FAILED'}")
    print(f"  record {last['record']}, verdict {last['verdict']}")


if __name__ == "__main__":
    main()
