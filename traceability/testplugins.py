"""Which pytest plugins a recorded test run (`qms test`) loads: the qms plugin and those the project declares.

pytest by default loads every plugin installed in the environment (`pytest11` entry
points); in a shared virtual environment that is whatever happens to be installed there,
and importing it costs seconds per run. `qms test` instead runs pytest with autoloading
off and names its plugins (`-p`): the qms plugin, the plugins of the distributions the
project's `pyproject.toml` declares (`[project] dependencies`, `optional-dependencies`,
`[dependency-groups]`), and those listed in `[tool.qms] test_plugins` (entry-point or
distribution names). `test_plugins = ["*"]` keeps pytest's own autoloading. A `-p NAME` in
the project's pytest configuration, a conftest's `pytest_plugins` and `PYTEST_PLUGINS`
still load as pytest documents.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from qms.errors import ConfigError

__all__ = ["ALL", "QMS_PLUGIN", "declared_distributions", "plugin_args"]

QMS_PLUGIN = "qms"
"""The entry-point name of `qms.traceability.plugin` (pyproject.toml, `[project.entry-points.pytest11]`)."""

ALL = "*"
"""In `test_plugins`: load every installed plugin, as pytest does by default."""

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _normalise(name: str) -> str:
    """PEP 503's normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_names(requirements: Iterable[Any]) -> set[str]:
    """The distribution named by each PEP 508 requirement string (group includes and other tables are skipped)."""
    names = set()
    for requirement in requirements:
        match = _NAME.match(requirement) if isinstance(requirement, str) else None
        if match:
            names.add(_normalise(match.group(1)))
    return names


def declared_distributions(root: Path) -> set[str]:
    """The distributions the project's pyproject.toml declares (normalised names); none without one."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return set()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"pyproject.toml is not valid TOML: {exc}", where=str(path)) from exc
    project = doc.get("project", {})
    lists: list[Any] = [project.get("dependencies", [])]
    lists += list(project.get("optional-dependencies", {}).values())
    lists += list(doc.get("dependency-groups", {}).values())
    return set().union(*(_requirement_names(entries) for entries in lists if isinstance(entries, list)))


def _can_disable_autoload() -> bool:
    """pytest 8.4 added `--disable-plugin-autoload`; an older pytest autoloads every plugin, as before."""
    try:
        major, minor = (int(part) for part in importlib.metadata.version("pytest").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (8, 4)


def plugin_args(root: Path, configured: Sequence[str] | None,
                installed: Iterable[importlib.metadata.EntryPoint] | None = None) -> list[str]:
    """pytest arguments that load exactly the run's plugins; none when `configured` holds "*" (pytest autoloads).

    `installed` defaults to this environment's `pytest11` entry points.
    """
    wanted = {_normalise(name) for name in configured or ()}
    if _normalise(ALL) in wanted or not _can_disable_autoload():
        return []
    wanted |= declared_distributions(root)
    points = importlib.metadata.entry_points(group="pytest11") if installed is None else installed
    names = [QMS_PLUGIN]
    for point in points:
        dist = point.dist.name if point.dist is not None else ""
        if point.name != QMS_PLUGIN and (_normalise(point.name) in wanted or _normalise(dist) in wanted):
            names.append(point.name)
    args = ["--disable-plugin-autoload"]
    for name in dict.fromkeys(names):
        args += ["-p", name]
    return args
