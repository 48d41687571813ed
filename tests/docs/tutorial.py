"""Running docs/tutorial.md: its fenced `sh` blocks, in order, in one shell in an empty folder, each block timed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.md"
_BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_MARK = "@@tutorial-block"


@dataclass(frozen=True)
class TutorialRun:
    returncode: int
    output: str
    seconds: tuple[float, ...]
    """Wall time of each block, in order."""


def blocks(text: str) -> list[str]:
    return [m.group(1) for m in _BLOCK.finditer(text)]


def run_tutorial(workdir: Path, text: str | None = None, *, path_first: Path | None = None,
                 env_extra: dict[str, str] | None = None) -> TutorialRun:
    """Every block of the tutorial in one `bash -euo pipefail` in `workdir`, with its own QMS_HOME and QMS_USER.

    `path_first` goes before the virtual environment on PATH (the benchmark's timing `qms` shim).
    """
    parts = blocks(TUTORIAL.read_text(encoding="utf-8") if text is None else text)
    script = "".join(f'echo "{_MARK} {n} $(date +%s.%N)"\n{body}' for n, body in enumerate(parts))
    script += f'echo "{_MARK} end $(date +%s.%N)"\n'
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    if path_first is not None:
        path = f"{path_first}{os.pathsep}{path}"
    env = {**os.environ, "PATH": path, "QMS_HOME": str(workdir / "home"), "QMS_USER": "tutorial.engineer",
           "COLUMNS": "120", **(env_extra or {})}
    for name in ("QMS_DATABASE_URL", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=workdir, env=env, capture_output=True,
                          text=True, check=False)
    stamps = [float(line.split()[2]) for line in proc.stdout.splitlines() if line.startswith(_MARK)]
    seconds = tuple(b - a for a, b in zip(stamps, stamps[1:]))
    return TutorialRun(proc.returncode, proc.stdout + proc.stderr, seconds)
