"""The device's runtime dependencies: what the SOUP list must review (IEC 62304 §8.1.2).

A dependency the device runs on and nobody reviewed is exactly the SOUP gap §8.1.2 is
about, so the list is taken from what the project itself says it needs: its declared
dependencies (`[project] dependencies` in pyproject.toml, `requirements.txt`) and what its
model's format runs on. A name is compared after PEP 503 normalisation.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from qms.soup.inventory import normalise

__all__ = ["RuntimeDependency", "declared_dependencies"]

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


def _from_pyproject(path: Path) -> list[RuntimeDependency]:
    try:
        text = path.read_text(encoding="utf-8")
        specs = tomllib.loads(text).get("project", {}).get("dependencies", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []  # the configuration loader reports a broken pyproject.toml
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


def declared_dependencies(root: Path, model_runtime: tuple[str, ...] = (), model: str = "") -> list[RuntimeDependency]:
    """Every runtime dependency of the project at `root`, first mention of each, sorted by name."""
    found = [*_from_pyproject(root / "pyproject.toml"), *_from_requirements(root / "requirements.txt"),
             *(RuntimeDependency(normalise(n), f"model {model} runs on it") for n in model_runtime)]
    first: dict[str, RuntimeDependency] = {}
    for dep in found:
        first.setdefault(dep.name, dep)
    return sorted(first.values(), key=lambda d: d.name)
