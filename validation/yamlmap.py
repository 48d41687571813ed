"""YAML read into plain values with the line of every key, so an error names file:line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from qms.errors import QmsError

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Located:
    """A parsed YAML document and the 1-based line of each value, keyed by its path."""

    source: str
    data: Any
    lines: dict[PathKey, int]

    def where(self, path: PathKey) -> str:
        """`file:line` of the value at `path`, else of its nearest parent that has one."""
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.lines:
                return f"{self.source}:{self.lines[path[:cut]]}"
        return self.source


def _build(node: yaml.Node, path: PathKey, lines: dict[PathKey, int], source: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if not isinstance(key_node, yaml.ScalarNode) or not isinstance(key, str):
                raise QmsError("keys must be plain text", where=f"{source}:{key_node.start_mark.line + 1}")
            if key in out:
                raise QmsError(f"key {key!r} appears twice", where=f"{source}:{key_node.start_mark.line + 1}")
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, (*path, key), lines, source)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, source) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load(path: Path) -> tuple[str, Located]:
    """The file's text and its parsed, line-located content."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QmsError(f"cannot read the file: {exc.strerror}", where=str(path)) from exc
    except UnicodeDecodeError as exc:
        raise QmsError("the file is not UTF-8 text", where=str(path)) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise QmsError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where) from exc
    lines: dict[PathKey, int] = {}
    data = None if root is None else _build(root, (), lines, str(path))
    return text, Located(str(path), data, lines)
