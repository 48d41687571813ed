"""The device project's configuration: `[tool.qms]` in pyproject.toml, or a qms.toml.

Validated on load; an error names the file, the key and what is allowed, and nothing is
written before the configuration is known to be good.
"""

from __future__ import annotations

import tomllib
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qms.errors import ConfigError

__all__ = ["PYPROJECT", "Project", "ProjectConfig", "ProjectKind", "QMS_TOML", "SafetyClass", "find_root", "load_project"]

PYPROJECT = "pyproject.toml"
QMS_TOML = "qms.toml"


class SafetyClass(str, Enum):
    """IEC 62304 §4.3 software safety classification."""

    A = "A"
    B = "B"
    C = "C"


class ProjectKind(str, Enum):
    """What the project releases: a device (a model version, judged by its protocols) or a tool (qmskit itself).

    A tool project's release plan names no model and no protocols, and the gate leaves out
    the criteria about them, saying so in its verdict (docs/selftest.md).
    """

    DEVICE = "device"
    TOOL = "tool"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectConfig(_Section):
    """What `[tool.qms]` may hold. Paths are relative to the project root."""

    device: str = Field(min_length=1, description="device name as it appears on evidence documents")
    intended_use: str = Field(min_length=1)
    safety_class: SafetyClass
    kind: ProjectKind = ProjectKind.DEVICE
    manufacturer: str = "unspecified manufacturer"
    design_dir: str = "design"
    protocols_dir: str = "protocols"
    records_dir: str = ".qms"
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; QMS_DATABASE_URL overrides it")
    tests_dir: str = "tests"
    id_prefixes: dict[str, str] = Field(default_factory=dict, description="design item type -> id prefix")
    deid: dict[str, Any] = Field(default_factory=dict)
    signing: dict[str, Any] = Field(default_factory=dict)
    release: dict[str, Any] = Field(default_factory=dict)
    compute: dict[str, Any] = Field(default_factory=dict, description="engine: local | ray (qms.compute.settings)")
    require_authenticated_actor: bool | None = Field(default=None, description=(
        "commands that record events refuse without an unlocked identity (`qms session unlock`); "
        "unset: once any identity is enrolled (qms.signing.attribution)"))


class Project:
    """A device project on disk: its root, its validated configuration, its paths."""

    def __init__(self, root: Path, config: ProjectConfig, source: Path) -> None:
        self.root = root
        self.config = config
        self.source = source

    def path(self, relative: str) -> Path:
        return self.root / relative

    @property
    def design_dir(self) -> Path:
        return self.path(self.config.design_dir)

    @property
    def protocols_dir(self) -> Path:
        return self.path(self.config.protocols_dir)

    @property
    def records_dir(self) -> Path:
        return self.path(self.config.records_dir)

    def database_url(self, override: str | None = None) -> str:
        """The store URL: an explicit override (QMS_DATABASE_URL), the config, or SQLite in .qms/.

        A relative SQLite path in the configuration is relative to the project root, so
        every command finds the same store from any folder.
        """
        if override:
            return override
        if self.config.database_url:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                url = make_url(self.config.database_url)
            except ArgumentError:
                return self.config.database_url  # open_store names it as not a database URL
            db = url.database
            if url.get_backend_name() == "sqlite" and db and db != ":memory:" and not Path(db).is_absolute():
                return url.set(database=str(self.root / db)).render_as_string(hide_password=False)
            return self.config.database_url
        return f"sqlite:///{self.records_dir / 'qms.db'}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError("the file is not UTF-8 text", where=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", where=str(path), hint="fix the TOML syntax") from exc


def _format_validation_error(exc: ValidationError, table: str) -> tuple[str, str]:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(table)"
    if first["type"] == "extra_forbidden":
        allowed = ", ".join(sorted(ProjectConfig.model_fields))
        return f"unknown key {table}.{key}", f"allowed keys: {allowed}"
    if first["type"] == "missing":
        return f"missing required key {table}.{key}", f"add {key} = ... under [{table}]"
    if first["loc"] and first["loc"][0] == "safety_class":
        return f"{table}.{key}: {first['msg']}", "allowed: A, B or C (IEC 62304 §4.3)"
    if first["loc"] and first["loc"][0] == "kind":
        return f"{table}.{key}: {first['msg']}", "allowed: device (the default) or tool"
    return f"{table}.{key}: {first['msg']}", "see the README for the allowed values"


def _is_project(folder: Path) -> bool:
    if (folder / QMS_TOML).is_file():
        return True
    pyproject = folder / PYPROJECT
    try:
        return pyproject.is_file() and "[tool.qms]" in pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def find_root(start: Path) -> Path:
    """The device project holding `start`: it or its nearest parent with a configuration (as git finds .git).

    Without one, `start` itself, so that loading it names the folder the user is in.
    """
    start = start.resolve()
    return next((folder for folder in (start, *start.parents) if _is_project(folder)), start)


def _locate(root: Path) -> tuple[Path, dict[str, Any], str]:
    qms_toml = root / QMS_TOML
    if qms_toml.is_file():
        data = _read_toml(qms_toml)
        return qms_toml, data.get("tool", {}).get("qms", data), "tool.qms" if "tool" in data else "(root)"
    pyproject = root / PYPROJECT
    if pyproject.is_file():
        data = _read_toml(pyproject)
        section = data.get("tool", {}).get("qms")
        if section is not None:
            return pyproject, section, "tool.qms"
    raise ConfigError(
        "no device project here: neither qms.toml nor a [tool.qms] table in pyproject.toml",
        where=str(root),
        hint="run `qms init` to create one, or pass --project DIR",
    )


def load_project(root: Path) -> Project:
    """Find and validate the configuration of the project at `root`."""
    root = root.resolve()
    if not root.is_dir():
        raise ConfigError("the project directory does not exist", where=str(root), hint="pass --project DIR")
    source, section, table = _locate(root)
    if not isinstance(section, dict):
        raise ConfigError(f"[{table}] must be a table", where=str(source))
    try:
        config = ProjectConfig.model_validate(section)
    except ValidationError as exc:
        message, hint = _format_validation_error(exc, table)
        raise ConfigError(message, where=str(source), hint=hint) from exc
    return Project(root, config, source)
