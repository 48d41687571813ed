"""Every third-party distribution installed in the environment (IEC 62304 §8.1.2: title, manufacturer, version)."""

from __future__ import annotations

import json
from email.message import Message
from email.parser import HeaderParser
import re
from dataclasses import dataclass
from importlib import metadata
from typing import Any

__all__ = ["Distribution", "installed", "normalise"]

_EMAIL = re.compile(r"\s*<[^>]*>|\S+@\S+")
_OWN = {"qmskit"}


@dataclass(frozen=True, order=True)
class Distribution:
    """One installed Python distribution, as its metadata describes it."""

    name: str
    version: str
    licence: str
    supplier: str
    origin: str

    @property
    def purl(self) -> str:
        return f"pkg:pypi/{self.name}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "licence": self.licence, "supplier": self.supplier,
                "origin": self.origin, "purl": self.purl}


def normalise(name: str) -> str:
    """PEP 503 name normalisation, so `PyYAML`, `pyyaml` and `py_yaml` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _licence(meta: Any) -> str:
    for key in ("License-Expression", "License"):
        value = (meta.get(key) or "").strip()
        if value and value.upper() != "UNKNOWN" and len(value) < 120 and "\n" not in value:
            return value
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return "; ".join(classifiers) or "not declared"


def _supplier(meta: Any) -> str:
    for key in ("Maintainer", "Author", "Maintainer-email", "Author-email"):
        value = _EMAIL.sub("", meta.get(key) or "").strip(" ,\"'")
        if value:
            return value
    return "not declared"


def _origin(dist: metadata.Distribution) -> str:
    direct = dist.read_text("direct_url.json")
    if direct:
        info = json.loads(direct)
        editable = info.get("dir_info", {}).get("editable", False)
        return f"{'editable ' if editable else ''}{info.get('url', 'direct URL')}"
    installer = (dist.read_text("INSTALLER") or "unknown installer").strip()
    return f"package index (installed by {installer})"


def _headers(dist: metadata.Distribution) -> Message:
    """The metadata headers only: the long description after them is most of the file and never needed."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    return HeaderParser().parsestr(text.split("\n\n", 1)[0])


def installed() -> list[Distribution]:
    """Every installed distribution except qmskit itself, sorted by name (the first found of a name wins)."""
    seen: dict[str, Distribution] = {}
    for dist in metadata.distributions():
        meta = _headers(dist)
        name = normalise(meta["Name"] or "")
        if not name or name in _OWN or name in seen:
            continue
        seen[name] = Distribution(name, str(meta["Version"] or ""), _licence(meta), _supplier(meta), _origin(dist))
    return sorted(seen.values())
