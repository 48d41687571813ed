"""Small device projects written into a temporary folder, for the traceability tests.

All design items and tests here are synthetic, made up for the behaviour under test.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from qms.config import Project, load_project

QMS_TOML = """[tool.qms]
device = "Synthetic test device"
intended_use = "testing the traceability of qmskit"
safety_class = "B"
"""

NEED = "id: NEED-001\ntype: need\ntitle: A need\ntext: The user needs a thing.\n"


def requirement(item_id: str, *parents: str, text: str = "The software shall do a thing.") -> str:
    links = "".join(f"  - {p}\n" for p in parents)
    return f"id: {item_id}\ntype: requirement\ntitle: Requirement {item_id}\ntext: {text}\nparents:\n{links}"


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
