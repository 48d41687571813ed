"""Read a YAML list of records with each record's line number, so errors can name file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from qms.errors import ConfigError


def load_records(path: Path, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings listed under top-level `key`, each with its 1-based line."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except UnicodeDecodeError as exc:
        raise ConfigError("the file is not UTF-8 text", where=str(path)) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where) from exc
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get(key, []), list):
        raise ConfigError(f"expected a mapping with a list under {key!r}", where=str(path))
    assert isinstance(root, yaml.MappingNode)
    nodes = next((v for k, v in root.value if k.value == key), None)
    items = data.get(key) or []
    lines = [n.start_mark.line + 1 for n in nodes.value] if isinstance(nodes, yaml.SequenceNode) else []
    out: list[tuple[int, dict[str, Any]]] = []
    for line, item in zip(lines, items, strict=True):
        if not isinstance(item, dict):
            raise ConfigError("each entry must be a mapping", where=f"{path}:{line}")
        out.append((line, item))
    return out
