"""IQ: each pinned dependency installed at the version requirements.lock names (shipped as package data)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources

from qms.errors import QmsError
from qms.findings import Finding
from qms.selftest.checks import Evidence
from qms.tool_validation import current_environment, normalise_name

__all__ = ["LOCK", "check_dependencies", "read_lock"]

LOCK = "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


def read_lock(text: str, where: str) -> dict[str, str]:
    """`name==version` lines (comments, blanks and pip options skipped); anything else names its line."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", "-")):
            continue
        match = _PIN.match(line)
        if match is None:
            raise QmsError(f"not a pinned requirement: {line!r}", where=f"{where}:{number}",
                           hint="the lock holds one name==version per line")
        pins[normalise_name(match.group(1))] = match.group(2)
    return pins


def _meets(installed: str, pin: str) -> bool:
    """PEP 440 `==`: a pin without a local label (+cpu) is met by any local build of that version."""
    return installed == pin or ("+" not in pin and installed.split("+", 1)[0] == pin)


def _shipped_lock() -> tuple[str, str]:
    source = resources.files("qms.selftest").joinpath(LOCK)
    try:
        return source.read_text(encoding="utf-8"), str(source)
    except OSError as exc:
        raise QmsError("the dependency lock is not installed with qmskit", where=str(source),
                       hint="reinstall qmskit from its wheel") from exc


def check_dependencies(check: str, installed: Mapping[str, str] | None = None,
                       lock: tuple[str, str] | None = None) -> tuple[list[Finding], Evidence]:
    """Every pin of the lock against the installed versions (all installed distributions unless given)."""
    text, where = lock if lock is not None else _shipped_lock()
    pins = read_lock(text, where)
    installed = current_environment().packages if installed is None else {
        normalise_name(k): v for k, v in installed.items()}
    findings = []
    for name, version in sorted(pins.items()):
        found = installed.get(name)
        if found is None:
            findings.append(Finding(check, name, f"pinned at {version} but not installed",
                                    f"pip install {name}=={version}", where=where))
        elif not _meets(found, version):
            findings.append(Finding(check, name, f"installed {found}, the lock pins {version}",
                                    f"pip install {name}=={version}, or validate the new version and update the lock",
                                    where=where))
    return findings, {"pins": str(len(pins)), "lock": where}
