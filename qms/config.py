"""The device project's configuration: `[tool.qms]` in pyproject.toml, or a qms.toml.

Validated on load; an error names the file, the key and what is allowed, and nothing is
written before the configuration is known to be good.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from qms.errors import ConfigError

__all__ = ["PYPROJECT", "Project", "ProjectConfig", "ProjectKind", "QMS_TOML", "SUBTABLE_KEYS", "SafetyClass",
           "did_you_mean", "find_root", "load_project"]

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


SUBTABLE_KEYS: dict[str, dict[str, str]] = {
    "signing": {
        "tsa": "RFC 3161 time-stamping authority for signatures: `local` (the organisation TSA) or its URL; "
               "without it a signature carries no trusted time",
        "idle_timeout_minutes": "a `qms serve` session unused this long ends (1..720, default 15; 21 CFR 11.10(d))",
    },
    "release": {"plan": "the release plan file (default `release-plan.yaml`)"},
    "deid": {
        "options": "the de-identification options applied (qms.deid.options)",
        "date_shift_days": "[min, max] range of the per-patient date shift, in days",
        "output_names": "how output files are named: `mirror` the input tree (each part holding PHI pseudonymised) "
                        "or by the new SOPInstanceUID",
        "safe_private": "private tags kept, by creator: `{creator: [tag, ...]}`",
        "pixels": "burned-in text detection in pixel data",
    },
    "compute": {"engine": "local | ray (qms.compute.settings)", "address": "the Ray cluster's address (engine = ray)"},
}
"""The keys each capability sub-table (`[tool.qms.signing]` ...) may hold: a typo is refused on load, never ignored.
The loader checks each value's type (`_SUBTABLE_TYPES`), each capability the rest; `tests/core/test_config.py`
holds these to the capabilities' key sets."""


_SUBTABLE_TYPES: dict[str, dict[str, Any]] = {
    "signing": {"tsa": Annotated[str, Field(pattern=r"^(local|https?://\S+)?$")],  # qms.signing.timestamp
                "idle_timeout_minutes": Annotated[int, Field(ge=1, le=720)]},
    "release": {"plan": str},
    "deid": {"options": list[str], "date_shift_days": Annotated[list[int], Field(min_length=2, max_length=2)],
             "output_names": Literal["mirror", "sop-instance-uid"], "safe_private": dict[str, list[str]],
             "pixels": dict[str, Any]},
    "compute": {"engine": Literal["local", "ray"], "address": str},
}
"""The type of each sub-table value: the loader refuses another (strictly: no `true` for a number), and the
configuration's JSON Schema, so docs/reference, shows it. The capability still checks what a type cannot say."""


@cache
def _adapter(table: str, key: str) -> TypeAdapter[Any]:
    return TypeAdapter(_SUBTABLE_TYPES[table][key])


def _subtable(name: str) -> Any:
    """The field of a capability sub-table: a mapping whose JSON Schema lists the keys it may hold and their types."""
    def properties(schema: dict[str, Any]) -> None:  # built when a schema is asked for, not on every import
        schema["properties"] = {k: {**_adapter(name, k).json_schema(), "description": d}
                                for k, d in SUBTABLE_KEYS[name].items()}
        schema["additionalProperties"] = False

    return Field(default_factory=dict, description=f"[tool.qms.{name}] settings", json_schema_extra=properties)


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
    test_plugins: list[str] | None = Field(default=None, description=(
        "pytest plugins `qms test` loads besides its own and those of the distributions pyproject.toml declares "
        "(entry-point or distribution names); `*` in the list: every installed plugin, as pytest autoloads them "
        "(qms.traceability.testplugins)"))
    id_prefixes: dict[str, str] = Field(default_factory=dict, description="design item type -> id prefix")
    deid: dict[str, Any] = _subtable("deid")
    signing: dict[str, Any] = _subtable("signing")
    release: dict[str, Any] = _subtable("release")
    compute: dict[str, Any] = _subtable("compute")
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


def did_you_mean(key: str, allowed: Iterable[str]) -> str:
    """The opening of a typo's hint, `did you mean 'roles'? `, when an allowed name is close to `key`; else ''."""
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def _line_of(source: Path, table: str, key: str) -> str:
    """`file:line` of `key = ...` in `[table]` (TOML gives no lines: the text is scanned), else the file."""
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return str(source)
    current = "(root)"
    header = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
    assignment = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    for number, line in enumerate(lines, 1):
        if m := header.match(line):
            current = m.group(1).replace(" ", "").replace('"', "")
        elif current == table and assignment.match(line):
            return f"{source}:{number}"
    return str(source)


def _check_subtables(config: ProjectConfig, source: Path, table: str) -> None:
    """Refuse a key a capability sub-table does not know (a typo such as `tsaa` would silently drop trusted time)
    or a value of another type than its schema's, naming the key and its line."""
    for name, allowed in SUBTABLE_KEYS.items():
        sub = f"{table}.{name}" if table != "(root)" else name
        values = getattr(config, name)
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]!r} in [{sub}]", where=_line_of(source, sub, unknown[0]),
                              hint=f"{did_you_mean(unknown[0], allowed)}allowed keys in [{sub}]: "
                                   f"{', '.join(allowed)} (docs/reference/config.md)")
        for key, value in values.items():
            try:
                _adapter(name, key).validate_python(value, strict=True)
            except ValidationError as exc:
                first = exc.errors()[0]
                at = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
                raise ConfigError(f"[{sub}] {key}{at}: {first['msg']}", where=_line_of(source, sub, key),
                                  hint=f"{key}: {allowed[key]} (docs/reference/config.md)") from exc


def _format_validation_error(exc: ValidationError, table: str, source: Path) -> tuple[str, str, str]:
    errors = exc.errors()
    # a typo is both an unknown key and (often) a missing one: name the typo, which is the cause
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    key = ".".join(str(p) for p in first["loc"]) or "(table)"
    if first["type"] == "extra_forbidden":
        allowed = sorted(ProjectConfig.model_fields)
        return (f"unknown key {table}.{key}", f"{did_you_mean(key, allowed)}allowed keys: {', '.join(allowed)}",
                _line_of(source, table, key))
    where = str(source)
    if first["type"] == "missing":
        return f"missing required key {table}.{key}", f"add {key} = ... under [{table}]", where
    if first["loc"]:
        where = _line_of(source, table, str(first["loc"][0]))
    if first["loc"] and first["loc"][0] == "safety_class":
        return f"{table}.{key}: {first['msg']}", "allowed: A, B or C (IEC 62304 §4.3)", where
    if first["loc"] and first["loc"][0] == "kind":
        return f"{table}.{key}: {first['msg']}", "allowed: device (the default) or tool", where
    return f"{table}.{key}: {first['msg']}", "see docs/reference/config.md for the allowed values", where


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
        message, hint, where = _format_validation_error(exc, table, source)
        raise ConfigError(message, where=where, hint=hint) from exc
    _check_subtables(config, source, table)
    return Project(root, config, source)
