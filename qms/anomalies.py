"""The register of known anomalies (IEC 62304 §5.8.2, §5.8.3, §9): what is wrong, how bad, its status.

A YAML file in the device project (default `design/anomalies.yaml`), reviewed in pull
requests like the design items. The gate blocks a release while an unresolved anomaly is
above the plan's threshold, and asks for the evaluation of every residual one it lets through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from qms.errors import ConfigError
from qms.yamlfile import load_records

__all__ = ["Anomaly", "AnomalySeverity", "AnomalyStatus", "blocking", "load_register", "open_anomaly"]

_ID = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]+$")


class AnomalySeverity(str, Enum):
    """Ordered: an anomaly's effect on safety and performance."""

    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(AnomalySeverity).index(self)


class AnomalyStatus(str, Enum):
    """Open and deferred anomalies are residual in a release (§5.8.2); resolved ones are not."""

    OPEN = "open"
    DEFERRED = "deferred"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Anomaly:
    id: str
    title: str
    severity: AnomalySeverity
    status: AnomalyStatus
    evaluation: str
    where: str

    @property
    def residual(self) -> bool:
        return self.status is not AnomalyStatus.RESOLVED

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "severity": self.severity.value, "status": self.status.value,
                "evaluation": self.evaluation}


def _enum(cls: type[AnomalySeverity] | type[AnomalyStatus], value: Any, where: str, key: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ConfigError(f"{key} {value!r} is not allowed", where=where, hint=f"one of {allowed}") from None


def load_register(path: Path, *, missing_ok: bool = False) -> list[Anomaly]:
    """Every anomaly in the register, validated. A missing register is an error (the release plan names it, and
    an absent register must never read as "no anomalies"); `missing_ok` only where a first entry is being written."""
    if not path.exists() and missing_ok:
        return []
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise ConfigError(f"the anomaly register {what}", where=str(path),
                          hint="restore it (an empty register is `anomalies: []`), or name the right file in the "
                               "release plan's `anomaly_file`")
    seen: dict[str, str] = {}
    out: list[Anomaly] = []
    for line, item in load_records(path, "anomalies"):
        where = f"{path}:{line}"
        ident = str(item.get("id", ""))
        if not _ID.match(ident):
            raise ConfigError(f"anomaly id {ident!r} is not of the form PREFIX-NUMBER", where=where)
        if ident in seen:
            raise ConfigError(f"anomaly id {ident} is used twice (first at {seen[ident]})", where=where)
        seen[ident] = where
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ConfigError(f"{ident} has no title", where=where)
        unknown = sorted(set(item) - {"id", "title", "severity", "status", "evaluation", "found_in", "fixed_in"})
        if unknown:
            raise ConfigError(f"{ident}: unknown key(s) {', '.join(unknown)}", where=where)
        out.append(Anomaly(ident, title.strip(), _enum(AnomalySeverity, item.get("severity"), where, "severity"),
                           _enum(AnomalyStatus, item.get("status"), where, "status"),
                           str(item.get("evaluation") or "").strip(), where))
    return out


def blocking(register: list[Anomaly], threshold: AnomalySeverity) -> list[Anomaly]:
    """Residual anomalies above the release's threshold: each one blocks the release."""
    return [a for a in register if a.residual and a.severity.rank > threshold.rank]


def open_anomaly(path: Path, prefix: str, title: str, severity: AnomalySeverity, evaluation: str) -> Anomaly:
    """Append an open anomaly `PREFIX-n` (n one past the highest) to the register, unless one is already open
    with the same title (then that one is returned); the file is re-read to prove it still parses."""
    import json

    from qms.atomic import write_text

    register = load_register(path, missing_ok=True)
    same = next((a for a in register if a.residual and a.title == title.strip()), None)
    if same is not None:
        return same
    numbers = [int(a.id.rsplit("-", 1)[1]) for a in register if a.id.startswith(f"{prefix}-")]
    ident = f"{prefix}-{max(numbers, default=0) + 1:03d}"
    before = path.read_text(encoding="utf-8") if path.exists() else "anomalies:\n"
    entry = (f"  - id: {ident}\n    title: {json.dumps(title.strip())}\n    severity: {severity.value}\n"
             f"    status: open\n    evaluation: {json.dumps(evaluation.strip())}\n")
    write_text(path, before + ("" if before.endswith("\n") else "\n") + entry)
    try:
        added = next(a for a in load_register(path) if a.id == ident)
    except (ConfigError, StopIteration) as exc:
        write_text(path, before)
        raise ConfigError(f"the register cannot take a new entry at its end: {exc}", where=str(path),
                          hint="keep `anomalies:` as the last top-level key, its items as `  - id: ...`") from exc
    return added
