"""`qms init`: lay out a new device project (configuration, design/, protocols/, .qms/, starting files)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from qms import atomic, audit
from qms.config import PYPROJECT, QMS_TOML, ProjectConfig, SafetyClass
from qms.errors import ConfigError
from qms.starter import (
    PROTOCOL_PREFIX, STARTER_MODEL, anomaly_template, protocol_template, release_plan_template, schema_ref, soup_template,
)
from qms.store import open_store

__all__ = ["EXAMPLE", "InitResult", "init_from_example", "init_project"]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cxr-triage"
"""The example device of the source repository (not part of an installed wheel)."""


@dataclass(frozen=True)
class InitResult:
    root: Path
    config_file: Path
    store_url: str
    created: list[str]


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _config_text(config: ProjectConfig, in_pyproject: bool) -> str:
    head = "[tool.qms]" if in_pyproject else "# qmskit device project configuration\n[tool.qms]"
    return (
        f"{head}\n"
        f"device = {_toml_string(config.device)}\n"
        f"intended_use = {_toml_string(config.intended_use)}\n"
        f'safety_class = "{config.safety_class.value}"\n'
        f"manufacturer = {_toml_string(config.manufacturer)}\n"
        f'design_dir = "{config.design_dir}"\n'
        f'protocols_dir = "{config.protocols_dir}"\n'
        f'records_dir = "{config.records_dir}"\n'
        "# the record store (never a password: give it in QMS_DATABASE_URL or ~/.pgpass)\n"
        f"database_url = {_toml_string(config.database_url or '')}\n"
    )


def _recorded_url(url: str | None, records_dir: str) -> str:
    """The store URL the configuration keeps: without its password; SQLite in the project relative to it."""
    if not url:
        return f"sqlite:///{records_dir}/qms.db"
    from sqlalchemy.engine import make_url

    return make_url(url)._replace(password=None).render_as_string(hide_password=False)


def _starting_files(root: Path, config: ProjectConfig) -> list[str]:
    """The release plan, the SOUP list (from the project's runtime dependencies), the anomaly register and a protocol, where absent."""
    from qms.soup.inventory import installed
    from qms.soup.runtime import declared_dependencies

    versions = {d.name: d.version for d in installed()}
    records = root / config.records_dir
    files: dict[str, tuple[str, Callable[[str], str]]] = {
        "release-plan.yaml": ("release-plan", release_plan_template),
        "soup.yaml": ("soup", lambda schema: soup_template(declared_dependencies(root), versions, schema)),
        f"{config.design_dir}/anomalies.yaml": ("anomalies", anomaly_template),
        f"{config.protocols_dir}/{PROTOCOL_PREFIX}-001.yaml":
            ("protocol", lambda schema: protocol_template(f"{PROTOCOL_PREFIX}-001", STARTER_MODEL, schema)),
    }
    written = []
    for name, (kind, text) in files.items():
        path = root / name
        if not path.exists():
            atomic.write_text(path, text(schema_ref(records, kind, path)))
            written.append(name)
    return written


def _has_tool_qms(pyproject: Path) -> bool:
    import tomllib

    try:
        return "qms" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot add [tool.qms]: the file is not valid TOML ({exc})", where=str(pyproject)) from exc


def init_project(
    root: Path, *, device: str, intended_use: str, safety_class: str, manufacturer: str, actor: str,
    database_url: str | None = None,
) -> InitResult:
    """Create the project's configuration, folders and record store; refuse to overwrite one."""
    root = root.resolve()
    try:
        config = ProjectConfig(device=device, intended_use=intended_use, safety_class=SafetyClass(safety_class),
                               manufacturer=manufacturer)
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"invalid project settings: {exc}", hint="safety class is A, B or C (IEC 62304 §4.3)") from exc
    pyproject = root / PYPROJECT
    in_pyproject = pyproject.is_file()
    if (root / QMS_TOML).exists() or (in_pyproject and _has_tool_qms(pyproject)):
        raise ConfigError("a device project already exists here", where=str(root), hint="nothing was changed")
    created: list[str] = []
    made_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    records = root / config.records_dir
    made_records = not records.exists()
    database_url = database_url or None
    url = database_url or f"sqlite:///{records / 'qms.db'}"
    config = config.model_copy(update={"database_url": _recorded_url(database_url, config.records_dir)})
    try:
        store = open_store(url)
    except Exception:
        if made_records and records.exists():
            shutil.rmtree(records)
        if made_root:
            shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        for folder in (config.design_dir, config.protocols_dir, config.tests_dir):
            path = root / folder
            if not path.exists():
                path.mkdir(parents=True)
                created.append(folder + "/")
        records.mkdir(parents=True, exist_ok=True)  # also when the store is elsewhere (PostgreSQL)
        (records / ".gitignore").write_text("*\n", encoding="utf-8")
        if in_pyproject:
            with pyproject.open("a", encoding="utf-8") as f:
                f.write("\n" + _config_text(config, True))
            config_file = pyproject
        else:
            config_file = root / QMS_TOML
            config_file.write_text(_config_text(config, False), encoding="utf-8")
        created.append(config_file.name)
        created.extend(_starting_files(root, config))
        audit.record(store, audit.EventSpec(actor, "project.init", f"project:{config.device}",
                                            after=audit.state_digest(config.model_dump(mode="json")),
                                            details={"safety_class": config.safety_class.value}))
    finally:
        store.dispose()
    return InitResult(root, config_file, store.display_url, created)


def init_from_example(root: Path, *, actor: str, database_url: str | None = None, example: Path = EXAMPLE) -> InitResult:
    """A copy of the example device (without its outputs and records) at `root`, with its own record store."""
    root = root.resolve()
    if not (example / QMS_TOML).is_file():
        raise ConfigError("the example device is not installed with this qmskit", where=str(example),
                          hint="it ships in the source repository (examples/cxr-triage); clone it, or run `qms init`")
    if root.exists() and any(root.iterdir()):
        raise ConfigError("the folder is not empty", where=str(root), hint="copy the example into a new, empty folder")
    shutil.copytree(example, root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("out", ".qms", "__pycache__", ".pytest_cache"))
    from qms.config import load_project

    project = load_project(root)
    url = database_url or project.database_url()
    try:
        store = open_store(url)
    except Exception:
        shutil.rmtree(root, ignore_errors=True)
        raise
    try:
        project.records_dir.mkdir(parents=True, exist_ok=True)
        (project.records_dir / ".gitignore").write_text("*\n", encoding="utf-8")
        audit.record(store, audit.EventSpec(actor, "project.init", f"project:{project.config.device}",
                                            after=audit.state_digest(project.config.model_dump(mode="json")),
                                            details={"safety_class": project.config.safety_class.value,
                                                     "from": "example"}))
    finally:
        store.dispose()
    created = sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir() if p.name != project.config.records_dir)
    return InitResult(root, project.source, store.display_url, created)
