"""Small device projects written into a temporary folder, for the traceability tests.

All design items and tests here are synthetic, made up for the behaviour under test.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from qms.config import Project, load_project
from qms.traceability import Outcome, TestResult, TestRun

QMS_TOML = """[tool.qms]
device = "Synthetic test device"
intended_use = "testing the traceability of qmskit"
safety_class = "B"
"""

NEED = "id: NEED-001\ntype: need\ntitle: A need\ntext: The user needs a thing.\n"
HAZ = ("id: HAZ-001\ntype: hazard\ntitle: H\ntext: t\nhazardous_situation: s\nharm: h\nseverity: 2\nprobability: 2\n"
       "residual_severity: 2\nresidual_probability: 1\n")
RC = "id: RC-001\ntype: risk_control\ntitle: C\ntext: t\ncontrol_type: protective_measure\nparents:\n  - HAZ-001\n"


def requirement(item_id: str, *parents: str, text: str = "The software shall do a thing.") -> str:
    links = "".join(f"  - {p}\n" for p in parents)
    return f"id: {item_id}\ntype: requirement\ntitle: Requirement {item_id}\ntext: {text}\nparents:\n{links}"


def make_run(project: Project, commit: str | None, results: Mapping[str, tuple[Outcome, tuple[str, ...]]],
             dirty: bool = False) -> TestRun:
    """A test run of the project's device: per node id, its outcome and the items it verifies."""
    return TestRun(project.config.device, commit, dirty, "t0", "t1", "3.11", "linux", {}, 0,
                   tuple(TestResult(n, o, 0.01, v) for n, (o, v) in results.items()))


def write_project(root: Path, design: dict[str, str], toml: str = QMS_TOML) -> Project:
    """A device project at `root` with the given design files (name -> YAML text)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "qms.toml").write_text(toml, encoding="utf-8")
    for name, text in design.items():
        path = root / "design" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return load_project(root)


def git_commit(root: Path) -> str:
    """Make `root` its own git repository with everything committed; returns HEAD."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=root,
                              check=True, capture_output=True, text=True).stdout.strip()

    if not (root / ".git").exists():
        git("init", "-q")
    (root / ".gitignore").write_text(".qms/\n__pycache__/\n.pytest_cache/\n", encoding="utf-8")
    git("add", "-A")
    git("commit", "-q", "--allow-empty", "-m", "test")
    return git("rev-parse", "HEAD")
