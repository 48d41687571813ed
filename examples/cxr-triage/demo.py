"""Run the example's whole flow in a fresh copy of the project and summarise what it did.

Each step is a shell script in demo.d/, run in name order with the project copy as its
working directory. A step reports what it made with lines `OUTPUT: <label>: <path>`;
the summary lists them. The committed example is never modified.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
IGNORED = shutil.ignore_patterns("out", "data", ".qms", "__pycache__", "*.pyc")


def main() -> int:
    project = OUT / "project"
    if OUT.exists():
        shutil.rmtree(OUT)
    shutil.copytree(HERE, project, ignore=IGNORED)
    shutil.copytree(HERE.parent / "common", OUT / "common")  # the steps the examples share, beside the project
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "QMS_HOME": str(OUT / "home"),
        "QMS_USER": os.environ.get("QMS_USER", "demo.engineer"),
        "DEMO_OUT": str(OUT),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("QMS_DATABASE_URL", None)
    steps = sorted((project / "demo.d").glob("*.sh"))
    outputs: list[tuple[str, str]] = []
    timings: list[tuple[str, float]] = []
    for step in steps:
        name = step.stem
        print(f"\n=== {name}", flush=True)
        start = time.monotonic()
        proc = subprocess.Popen(["bash", "-euo", "pipefail", str(step)], cwd=project, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("OUTPUT: "):
                label, _, path = line[len("OUTPUT: "):].strip().partition(": ")
                outputs.append((label, path))
        code = proc.wait()
        timings.append((name, time.monotonic() - start))
        if code != 0:
            print(f"\ndemo failed in step {name} (exit {code})", file=sys.stderr)
            return code
    print("\n=== summary")
    for name, seconds in timings:
        print(f"  {name:<32} {seconds:6.1f} s")
    print("\n  outputs:")
    for label, path in outputs:
        print(f"  {label:<32} {path}")
    print(f"\n  project copy: {project}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
