"""The device's runtime dependencies: what the SOUP list must review (IEC 62304 §8.1.2).

A dependency the device runs on and nobody reviewed is exactly the SOUP gap §8.1.2 is
about, so the list is taken from what the project itself says it needs: its declared
dependencies (`[project] dependencies` in pyproject.toml, `requirements.txt`), what its
model's format runs on, and the distribution that provides a torch model's network class. A name
is compared after PEP 503 normalisation.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from qms.soup.inventory import normalise

__all__ = ["RuntimeDependency", "class_distributions", "declared_dependencies"]

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class RuntimeDependency:
    """A distribution the device runs on, and where that is said (file:line, or the model's format)."""

    name: str
    why: str


def _requirement_name(spec: str) -> str | None:
    """The distribution a PEP 508 requirement names (`torch>=2; python_version>'3'` -> torch); None for options."""
    found = _NAME.match(spec)
    return normalise(found.group(1)) if found and not spec.lstrip().startswith("-") else None


def _project_table(path: Path) -> tuple[str, dict[str, object]]:
    """The file's text and its `[project]` table; empty when unreadable (the configuration loader reports it)."""
    try:
        text = path.read_text(encoding="utf-8")
        table = tomllib.loads(text).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "", {}
    return text, table if isinstance(table, dict) else {}


def _from_pyproject(path: Path) -> list[RuntimeDependency]:
    text, project = _project_table(path)
    specs = project.get("dependencies", [])
    lines = text.splitlines()
    found = []
    for spec in specs if isinstance(specs, list) else []:
        name = _requirement_name(str(spec))
        if name is not None:
            line = next((n for n, t in enumerate(lines, 1) if str(spec) in t), 1)
            found.append(RuntimeDependency(name, f"{path}:{line}"))
    return found


def _from_requirements(path: Path) -> list[RuntimeDependency]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    found = []
    for n, line in enumerate(lines, 1):
        name = _requirement_name(line.split("#", 1)[0])
        if name is not None:
            found.append(RuntimeDependency(name, f"{path}:{n}"))
    return found


def class_distributions(root: Path, torch_class: str) -> tuple[str, ...]:
    """The installed distributions that provide a network class ('package.module:Class'), from their metadata,
    without importing it. None for qmskit's own classes (the tool, qualified by `qms selftest`, not SOUP) nor for
    the device's own code (in its folder, or installed as the project's own distribution)."""
    module = torch_class.partition(":")[0]
    top = module.partition(".")[0]
    if top == "qms":
        return ()
    candidates = sorted(set(metadata.packages_distributions().get(top, [])))  # ~0.4 s: only for another's class
    if len(candidates) > 1:  # a namespace package: the distribution that holds the module's own file
        stem = module.replace(".", "/")
        holding = [c for c in candidates
                   if any(str(f).startswith((f"{stem}/", f"{stem}.")) for f in metadata.distribution(c).files or ())]
        candidates = holding or candidates
    own = _project_table(root / "pyproject.toml")[1].get("name")
    return tuple(n for n in (normalise(c) for c in candidates) if n != normalise(str(own or "")))


def declared_dependencies(root: Path, model_runtime: tuple[str, ...] = (), model: str = "",
                          extra: Sequence[RuntimeDependency] = ()) -> list[RuntimeDependency]:
    """Every runtime dependency of the project at `root`, first mention of each, sorted by name."""
    found = [*_from_pyproject(root / "pyproject.toml"), *_from_requirements(root / "requirements.txt"),
             *(RuntimeDependency(normalise(n), f"model {model} runs on it") for n in model_runtime), *extra]
    first: dict[str, RuntimeDependency] = {}
    for dep in found:
        first.setdefault(dep.name, dep)
    return sorted(first.values(), key=lambda d: d.name)
