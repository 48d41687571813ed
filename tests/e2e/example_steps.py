"""Running an example project's demo.d steps in a fresh copy, as a user would (no demo runner needed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIGNED = {("authored", "demo.author"), ("reviewed", "demo.reviewer"), ("approved", "demo.approver")}


def run_steps(example: str, tmp: Path, **env: str) -> Path:
    """Copy the example (and examples/common beside it) to `tmp`, run every demo.d step in name order, and return the DEMO_OUT folder.

    A failing step fails the test with the step's own output.
    """
    project = tmp / "project"
    shutil.copytree(EXAMPLES / example, project, ignore=shutil.ignore_patterns("out", "data", "models", ".qms",
                                                                             "__pycache__"))
    shutil.copytree(EXAMPLES / "common", tmp / "common")  # the steps the examples share, beside the project
    out = tmp / "out"
    out.mkdir()
    environ = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "QMS_HOME": str(tmp / "home"), "QMS_USER": "demo.engineer", "DEMO_OUT": str(out), **env}
    environ.pop("QMS_DATABASE_URL", None)
    for step in sorted((project / "demo.d").glob("*.sh")):
        proc = subprocess.run(["bash", "-euo", "pipefail", str(step)], cwd=project, env=environ, capture_output=True,
                              text=True, check=False)
        assert proc.returncode == 0, f"{example} step {step.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return out


def assert_released(out: Path, model: str) -> None:
    """The gate passed for `model` and release 1.0.0's bundle verified offline, every document signed by the author,
    the reviewer and the approver (three distinct identities)."""
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["verdict"] == "pass" and verdict["subject"]["model"] == model, verdict["findings"]
    bundle = json.loads((out / "bundle-verify.json").read_text())
    assert bundle["ok"] and bundle["release"] == "1.0.0" and bundle["findings"] == []
    assert all(s["ok"] and s["trusted"] and s["time_trusted"] for s in bundle["signatures"])
    signed: dict[str, set[tuple[str, str]]] = {}
    for s in bundle["signatures"]:
        if s["file"].startswith("documents/"):
            signed.setdefault(s["file"], set()).add((s["meaning"], s["user_id"]))
    assert "documents/validation-report.pdf" in signed and all(who >= SIGNED for who in signed.values()), signed
    assert (out / "1.0.0-bundle.zip").is_file()
