"""The maintained `soup` file: for each direct dependency its purpose, requirements and anomaly review.

IEC 62304 §5.3.3 (functional and performance requirements of SOUP), §7.1.2-§7.1.3 (known
anomalies reviewed for hazardous impact) and FDA's SBOM fields (level of support, end of
support, known vulnerabilities) are facts only people can supply; this file records them,
in the device project, reviewed in pull requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qms.errors import ConfigError
from qms.soup.inventory import normalise
from qms.yamlfile import load_records

__all__ = ["SoupEntry", "load_soup_file"]

_REQUIRED = ("name", "version", "purpose", "requirements", "anomaly_review", "level_of_support", "end_of_support",
             "known_vulnerabilities")


@dataclass(frozen=True)
class SoupEntry:
    """What the team reviewed about one direct dependency, at one version."""

    name: str
    version: str
    purpose: str
    requirements: str
    anomaly_review: str
    level_of_support: str
    end_of_support: str
    known_vulnerabilities: str
    where: str

    def to_json(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in _REQUIRED}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return "" if value is None else str(value).strip()


def load_soup_file(path: Path) -> list[SoupEntry]:
    """Every entry of the soup file; a field left empty is an error naming file:line."""
    if not path.is_file():
        raise ConfigError("no SOUP file", where=str(path),
                          hint="list each direct dependency with purpose, requirements and anomaly review")
    entries: dict[str, SoupEntry] = {}
    for line, item in load_records(path, "soup"):
        where = f"{path}:{line}"
        unknown = sorted(set(item) - set(_REQUIRED))
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(unknown)}", where=where, hint=f"allowed: {', '.join(_REQUIRED)}")
        values = {k: _text(item.get(k)) for k in _REQUIRED}
        empty = [k for k, v in values.items() if not v]
        if empty:
            raise ConfigError(f"{values['name'] or 'entry'}: {', '.join(empty)} missing", where=where,
                              hint="IEC 62304 §5.3.3 and §7.1.3 ask for each of these")
        name = normalise(values.pop("name"))
        if name in entries:
            raise ConfigError(f"{name} is listed twice (first at {entries[name].where})", where=where)
        entries[name] = SoupEntry(name=name, where=where, **values)
    return list(entries.values())
