"""Strict mypy over the whole `qms` namespace as it is imported.

pyproject.toml maps the top-level folders into `qms.*` (`package-dir`), which setuptools'
editable import hook resolves at run time and mypy cannot follow: checked folder by folder,
every call across areas is `Any`. This script builds the namespace as the interpreter sees
it, as a tree of links under build/typecheck/ (`qms/<entry>` for every entry of qms/, plus
`qms/<area>` -> `<area>/` for each mapped folder), and runs `mypy -p qms` against it.
Module names and error paths are those of the link tree (`build/typecheck/qms/validation/
run.py` is `validation/run.py`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

__all__ = ["build_link_tree", "main"]

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"


def _mapped_folders() -> dict[str, Path]:
    """The sub-packages of `qms` that live in their own top-level folder, from pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return {
        name.removeprefix("qms."): ROOT / folder
        for name, folder in package_dir.items()
        if name.startswith("qms.") and (ROOT / folder / "__init__.py").exists()
    }


def build_link_tree() -> Path:
    """(Re)create build/typecheck/qms mirroring the installed `qms` package; return its parent."""
    package = TREE / "qms"
    package.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, Path] = {
        entry.name: entry
        for entry in (ROOT / "qms").iterdir()
        if entry.name not in {"__pycache__"}
    }
    for name, folder in _mapped_folders().items():
        if name in wanted:
            raise SystemExit(f"qms/{name} exists and is also mapped from {folder.name}/")
        wanted[name] = folder
    for link in package.iterdir():
        if link.name not in wanted or not link.is_symlink() or link.resolve() != wanted[link.name]:
            link.unlink()
    for name, target in wanted.items():
        link = package / name
        if not link.is_symlink():
            link.symlink_to(target, target_is_directory=target.is_dir())
    return TREE


def main(argv: list[str]) -> int:
    """Build the tree and run mypy on it; extra arguments go to mypy."""
    tree = build_link_tree()
    env = dict(os.environ, MYPYPATH=str(tree))
    command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
    return subprocess.call([*command, *argv, "-p", "qms"], cwd=tree, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
