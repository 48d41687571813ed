"""The design of a device project: every item under design/, checked, with a cache.

The cache (in the project's records folder) is keyed by each file's sha256 and the code
that parsed it, so an unchanged file is never parsed twice and a changed one always is;
a stale or unreadable cache is simply ignored. The digests themselves come from
`filestat.scan` (reused while a file's stat is unchanged). Checks always run on the whole
graph. `Design.sources` lists every file's digest as it was actually parsed, so whatever
is derived from the design can be cached under exactly that content.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qms.config import Project
from qms.errors import ConfigError
from qms.findings import Finding
from qms.hashing import sha256_hex
from qms.traceability.cachetag import read_json, write_json
from qms.traceability.checks import check_items
from qms.traceability.codedigest import code_digest
from qms.traceability.filestat import FileDigest, scan
from qms.traceability.findings import Check, finding_from_json
from qms.traceability.items import DEFAULT_PREFIXES, Item, ItemType
from qms.traceability.parse import ParsedFile, parse_bytes

__all__ = [
    "CACHE_NAME", "Design", "STAT_NAME", "SUFFIXES", "design_files", "load_design", "load_project_design",
    "prefixes",
]

SUFFIXES = (".yaml", ".yml")
_CACHE_VERSION = 3
CACHE_NAME = "design-cache.json"
STAT_NAME = "design-stat.json"


@dataclass
class Design:
    """Checked design items: by id, their findings, and each item's children."""

    root: Path
    items: dict[str, Item]
    findings: list[Finding]
    cyclic: frozenset[str] = frozenset()
    children: dict[str, list[str]] = field(default_factory=dict)
    sources: tuple[tuple[str, str | None], ...] = ()

    def __post_init__(self) -> None:
        for item in self.items.values():
            for parent in item.parents:
                if parent in self.items:
                    self.children.setdefault(parent, []).append(item.id)

    @property
    def unreadable(self) -> list[Finding]:
        """Findings that mean some items could not be read at all (the id set is incomplete)."""
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


def _read_cache(path: Path | None, mac_key: bytes | None) -> dict[str, Any]:
    data = read_json(path, mac_key) if path is not None else None
    if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION or data.get("code") != code_digest():
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _parsed(entry: dict[str, Any]) -> ParsedFile:
    return ParsedFile(tuple(Item.from_json(i) for i in entry["items"]),
                      tuple(finding_from_json(f) for f in entry["findings"]))


def design_files(root: Path, design_dir: Path) -> list[tuple[str, str]]:
    """Every item file under `design_dir` as (path relative to `root`, path), in a stable order."""
    found: list[tuple[str, str]] = []
    for folder, dirs, names in os.walk(design_dir):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = os.path.relpath(folder, root).replace(os.sep, "/") + "/"
        base = "" if base == "./" else base
        found.extend((base + n, os.path.join(folder, n)) for n in names if n.endswith(SUFFIXES))
    found.sort(key=lambda f: f[1])
    return found


def _unreadable(rel: str, exc: OSError) -> ParsedFile:
    return ParsedFile((), (Finding(Check.PARSE, None, f"cannot read the file: {exc.strerror or exc}",
                                   "check that the file exists and is readable", where=f"{rel}:1"),))


def _parse(entry: Any, file: FileDigest) -> tuple[ParsedFile, str | None, bytes | None]:
    """The file's items: from the cache entry if it is of this very content, else parsed from its bytes."""
    if isinstance(entry, dict) and file.digest is not None and entry.get("sha256") == file.digest:
        try:
            return _parsed(entry), file.digest, None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            pass  # a damaged entry: parse the file again
    data = file.data
    try:
        if data is None:
            with open(file.path, "rb") as f:
                data = f.read()
    except OSError as exc:
        return _unreadable(file.rel, exc), None, None
    return parse_bytes(data, file.rel), sha256_hex(data), data


def load_design(root: Path, design_dir: Path, item_prefixes: dict[ItemType, str], safety_class: str,
                cache: Path | None = None, files: list[FileDigest] | None = None, mac_key: bytes | None = None) -> Design:
    """Read and check every item file under `design_dir`; paths in findings are relative to `root`.

    `files` are the digests of a scan already made (else one is made here, with the stat
    index beside `cache`). The cache and the index are tagged under `mac_key` (`qms.traceability.cachetag`).
    """
    if files is None:
        files = scan(design_files(root, design_dir), cache.with_name(STAT_NAME) if cache is not None else None,
                     mac_key=mac_key)
    cached = _read_cache(cache, mac_key)
    fresh: dict[str, Any] = {}
    items: list[Item] = []
    findings: list[Finding] = []
    sources: list[tuple[str, str | None]] = []
    changed = False
    for file in files:
        if file.error is not None:
            parsed, digest = _unreadable(file.rel, file.error), None
        else:
            entry = cached.get(file.rel)
            parsed, digest, data = _parse(entry, file)
            if data is not None and digest is not None:
                fresh[file.rel] = {"sha256": digest, "items": [i.to_json() for i in parsed.items],
                                   "findings": [f.to_json() for f in parsed.findings]}
                changed = True
            elif digest is not None:
                fresh[file.rel] = entry
        sources.append((file.rel, digest))
        items.extend(parsed.items)
        findings.extend(parsed.findings)
    if cache is not None and (changed or set(fresh) != set(cached)):
        write_json(cache, json.dumps({"version": _CACHE_VERSION, "code": code_digest(), "files": fresh},
                                     separators=(",", ":")).encode(), mac_key)
    by_id, checked, cyclic = check_items(items, item_prefixes, safety_class)
    return Design(root, by_id, findings + checked, cyclic, sources=tuple(sources))


def load_project_design(project: Project, *, use_cache: bool = True, files: list[FileDigest] | None = None,
                        mac_key: bytes | None = None) -> Design:
    """The project's design, cached in its records folder (tagged under `mac_key`)."""
    config = project.config
    return load_design(project.root, project.design_dir, prefixes(config.id_prefixes, str(project.source)),
                       config.safety_class.value, project.records_dir / "cache" / CACHE_NAME if use_cache else None,
                       files, mac_key)
