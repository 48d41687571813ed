"""`qms doctor`: is this installation, this machine and this project fit to work, and if not, the fix.

Each area is a list of findings (the one `Finding`, hint = the fix): the installation
against the pinned lock, the system tools, the project's configuration and release plan,
the record store (reachable, current, sound by the database's own check), and the user's
keys. It reads what it is given; the CLI supplies the environment.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qms.config import Project, find_root, load_project
from qms.errors import QmsError
from qms.findings import Finding, Severity

__all__ = ["Area", "diagnose"]


@dataclass(frozen=True)
class Area:
    """One part of the diagnosis: its name, what was found, and a line saying what is fine."""

    name: str
    findings: tuple[Finding, ...]
    fine: str

    @property
    def ok(self) -> bool:
        return not any(f.blocking for f in self.findings)

    def to_json(self) -> dict[str, object]:
        return {"area": self.name, "ok": self.ok, "fine": self.fine, "findings": [f.to_json() for f in self.findings]}


def _error(area: str, exc: QmsError) -> Finding:
    return Finding(area, exc.where, exc.message, exc.hint or "")


def _installation() -> Area:
    from qms.selftest.iq_dependencies import check_dependencies

    try:
        found, evidence = check_dependencies("installation")
    except QmsError as exc:
        return Area("installation", (_error("installation", exc),), "")
    return Area("installation", tuple(found), f"{evidence['pins']} pinned distributions installed as locked")


def _tools(path: str | None) -> Area:
    from qms.selftest.iq_tools import check_system_tools

    found, evidence = check_system_tools("system-tools", path)
    return Area("system tools", tuple(found), ", ".join(f"{k} {v}" for k, v in evidence.items()))


def _configuration(project: Project) -> Area:
    from qms.release_plan import load_plan
    from qms.traceability import load_project_design

    found: list[Finding] = []
    try:
        load_plan(project)
    except QmsError as exc:
        found.append(_error("configuration", exc))
    design = load_project_design(project, use_cache=False)
    found.extend(Finding("configuration", f.item, f.reason, f.hint, f.where) for f in design.unreadable)
    return Area("configuration", tuple(found), f"{project.source.name}, the release plan and {len(design.items)} "
                                               "design items read")


def _store(url: str) -> Area:
    from qms.store import open_store
    from qms.store.integrity import check_integrity

    try:
        store = open_store(url, create=False)
    except QmsError as exc:
        return Area("record store", (_error("record-store", exc),), "")
    try:
        return Area("record store", check_integrity(store),
                    f"{store.display_url}: schema current, integrity check passed")
    finally:
        store.dispose()


def _is_private(pem: Path) -> bool:
    """Whether a PEM file holds a private key (by its header; one that cannot be read counts as private)."""
    try:
        head = pem.read_bytes()[:4096]
    except OSError:
        return True
    return b"PRIVATE KEY-----" in head or b"-----BEGIN" not in head


def _keys(home: Path, project_root: Path | None) -> Area:
    found: list[Finding] = []
    if project_root is not None and (home.resolve() == project_root or project_root in home.resolve().parents):
        found.append(Finding("keys", str(home), "QMS_HOME is inside the device project, where keys could be committed",
                             "set QMS_HOME to a folder of your own outside every repository"))
    pems = sorted(home.rglob("*.key.pem")) + sorted(home.glob("*key*.pem")) if home.is_dir() else []
    keys = [key for key in dict.fromkeys(pems) if _is_private(key)]  # a .pub.pem or certificate may be world-readable
    for key in keys:
        mode = stat.S_IMODE(key.stat().st_mode)
        if mode & 0o077:
            found.append(Finding("keys", str(key), f"a private key others can read (mode {mode:o})",
                                 f"chmod 600 {key}"))
    if not (home / "trust").is_dir() or not any((home / "trust").glob("*.pem")):
        found.append(Finding("keys", str(home), "no trusted CA: signatures and bundles cannot be verified here",
                             "`qms ca init` (your own CA) or `qms ca import CA.pem`", severity=Severity.WARNING))
    return Area("keys", tuple(found), f"{len(set(keys))} private keys in {home}, owner-only")


def diagnose(start: Path, home: Path, database_url: Callable[[Project], str], path: str | None = None) -> list[Area]:
    """Every area, in the order a fix is needed: installation, tools, configuration, store, keys."""
    areas = [_installation(), _tools(path)]
    try:
        project: Project | None = load_project(find_root(start))
    except QmsError as exc:
        project = None
        areas.append(Area("configuration", (_error("configuration", exc),), ""))
    if project is not None:
        areas.append(_configuration(project))
        areas.append(_store(database_url(project)))
    areas.append(_keys(home, project.root if project is not None else None))
    return areas
