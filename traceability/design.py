"""The design of a device project: every item under design/, checked, with a cache.

The cache (in the project's records folder) is keyed by each file's sha256, so an
unchanged file is never parsed twice and a changed one always is; a stale or unreadable
cache is simply ignored. Checks always run on the whole graph.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qms.atomic import write_text
from qms.config import Project
from qms.errors import ConfigError
from qms.hashing import sha256_hex
from qms.traceability.checks import check_items
from qms.traceability.findings import Finding
from qms.traceability.items import DEFAULT_PREFIXES, Item, ItemType
from qms.traceability.parse import ParsedFile, parse_bytes

SUFFIXES = (".yaml", ".yml")
_CACHE_VERSION = 2
CACHE_NAME = "design-cache.json"


@dataclass
class Design:
    """Checked design items: by id, their findings, and each item's children."""

    root: Path
    items: dict[str, Item]
    findings: list[Finding]
    cyclic: frozenset[str] = frozenset()
    children: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for item in self.items.values():
            for parent in item.parents:
                if parent in self.items:
                    self.children.setdefault(parent, []).append(item.id)

    def of_type(self, item_type: ItemType) -> list[Item]:
        return sorted((i for i in self.items.values() if i.type is item_type), key=lambda i: i.id)

    @property
    def unreadable(self) -> list[Finding]:
        """Findings that mean some items could not be read at all (the id set is incomplete)."""
        from qms.traceability.findings import Check

        return [f for f in self.findings if f.check in (Check.PARSE, Check.ENCODING)]


def prefixes(configured: dict[str, str], source: str) -> dict[ItemType, str]:
    """Id prefixes per item type: the defaults, overridden by `id_prefixes` in [tool.qms]."""
    result = dict(DEFAULT_PREFIXES)
    for name, prefix in configured.items():
        try:
            result[ItemType(name)] = prefix
        except ValueError:
            raise ConfigError(f"id_prefixes names unknown item type {name!r}", where=source,
                              hint=f"item types: {', '.join(t.value for t in ItemType)}") from None
    return result


def _read_cache(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data.get("files", {}) if isinstance(data, dict) and data.get("version") == _CACHE_VERSION else {}


def _parsed(entry: dict[str, Any]) -> ParsedFile:
    return ParsedFile(tuple(Item.from_json(i) for i in entry["items"]),
                      tuple(Finding.from_json(f) for f in entry["findings"]))


def design_files(design_dir: Path) -> list[str]:
    """Every item file under `design_dir` (as text paths: thousands of them), in a stable order."""
    found: list[str] = []
    for folder, dirs, names in os.walk(design_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(folder, n) for n in names if n.endswith(SUFFIXES))
    return sorted(found)


def load_design(root: Path, design_dir: Path, item_prefixes: dict[ItemType, str], safety_class: str,
                cache: Path | None = None) -> Design:
    """Read and check every item file under `design_dir`; paths in findings are relative to `root`."""
    cached = _read_cache(cache)
    fresh: dict[str, Any] = {}
    items: list[Item] = []
    findings: list[Finding] = []
    changed = False
    prefix = str(root) + os.sep
    for path in design_files(design_dir):
        rel = (path[len(prefix):] if path.startswith(prefix) else os.path.relpath(path, root)).replace(os.sep, "/")
        with open(path, "rb") as f:
            data = f.read()
        digest = sha256_hex(data)
        entry = cached.get(rel)
        if entry is not None and entry.get("sha256") == digest:
            parsed = _parsed(entry)
            fresh[rel] = entry
        else:
            parsed = parse_bytes(data, rel)
            fresh[rel] = {"sha256": digest, "items": [i.to_json() for i in parsed.items],
                          "findings": [f.to_json() for f in parsed.findings]}
            changed = True
        items.extend(parsed.items)
        findings.extend(parsed.findings)
    if cache is not None and (changed or set(fresh) != set(cached)):
        write_text(cache, json.dumps({"version": _CACHE_VERSION, "files": fresh}, separators=(",", ":")))
    by_id, checked, cyclic = check_items(items, item_prefixes, safety_class)
    return Design(root, by_id, findings + checked, cyclic)


def load_project_design(project: Project, *, use_cache: bool = True) -> Design:
    """The project's design, cached in its records folder."""
    config = project.config
    return load_design(project.root, project.design_dir, prefixes(config.id_prefixes, str(project.source)),
                       config.safety_class.value, project.records_dir / "cache" / CACHE_NAME if use_cache else None)
