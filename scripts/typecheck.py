"""Strict mypy and the import-layer contracts over the whole `qms` namespace as it is imported.

pyproject.toml maps the top-level folders into `qms.*` (`package-dir`), which setuptools'
editable import hook resolves at run time and neither mypy nor import-linter can follow:
checked folder by folder, every call across areas is `Any`. This script builds the
namespace as the interpreter sees it under build/typecheck/qms: a directory per package
(`qms/` itself, then `qms/<area>` for each mapped folder) holding links to the source
files, so error paths name the module (`qms/validation/run.py` is `validation/run.py`).
A package folder without `__init__.py` (an implicit namespace package such as
`qms/release`) gets an empty one in the tree, because import-linter's graph skips
namespace packages below the root. Then it runs `mypy -p qms` and `lint-imports` on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

__all__ = ["build_link_tree", "main"]

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"
_SKIP = {"__pycache__"}


def _mapped_folders() -> dict[str, Path]:
    """The sub-packages of `qms` that live in their own top-level folder, from pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return {
        name.removeprefix("qms."): ROOT / folder
        for name, folder in package_dir.items()
        if name.startswith("qms.") and "." not in name.removeprefix("qms.")
    }


def _has_python(folder: Path) -> bool:
    return any(p.suffix == ".py" for p in folder.rglob("*.py") if not _SKIP & set(p.parts))


def _mirror(source: Path, target: Path) -> None:
    """`target` as a package directory of links into `source`; folders without Python are linked whole."""
    target.mkdir(parents=True)
    for entry in sorted(source.iterdir()):
        if entry.name in _SKIP:
            continue
        if entry.is_dir() and _has_python(entry):
            _mirror(entry, target / entry.name)
        else:
            (target / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    if not (target / "__init__.py").exists():
        (target / "__init__.py").write_text("", encoding="utf-8")


def build_link_tree() -> Path:
    """(Re)create build/typecheck/qms mirroring the installed `qms` package; return its parent."""
    package = TREE / "qms"
    shutil.rmtree(package, ignore_errors=True)
    _mirror(ROOT / "qms", package)
    for name, folder in _mapped_folders().items():
        if (package / name).exists():
            raise SystemExit(f"qms/{name} exists and is also mapped from {folder.name}/")
        _mirror(folder, package / name)
    return TREE


def main(argv: list[str]) -> int:
    """Build the tree, run mypy (extra arguments go to it), then the import contracts; 0 when both pass."""
    tree = build_link_tree()
    config = str(ROOT / "pyproject.toml")
    mypy = subprocess.call([sys.executable, "-m", "mypy", "--config-file", config, *argv, "-p", "qms"],
                           cwd=tree, env=dict(os.environ, MYPYPATH=str(tree)))
    lint = subprocess.call([str(Path(sys.executable).with_name("lint-imports")), "--config", config],
                           cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)))
    return mypy or lint


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
