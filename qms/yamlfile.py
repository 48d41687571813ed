"""The one YAML reader for a user's files: every value with its line, every error naming file:line.

Design items, protocols, the release plan, model cards, training recipes and the anomaly
and SOUP registers are all read here, so a syntax error, a bad byte or a wrong value is
reported the same way everywhere: the file, the line, what is wrong. The reader is
libyaml's (C) when installed, for speed, except where a caller needs marks that count
characters (an editor rewriting spans of the text).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.reader import ReaderError

from qms.errors import ConfigError, QmsError

__all__ = ["Located", "PathKey", "construct", "documents", "load", "load_records", "parse", "read_text"]

PathKey = tuple[str | int, ...]
"""The path of a value inside a document: mapping keys and list indices, e.g. ("endpoints", 0, "metric")."""

_FAST: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def read_text(path: Path, error: type[QmsError] = ConfigError) -> str:
    """The file as UTF-8 text; an unreadable file or a bad byte raises `error` naming it (and the byte's line)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror}", where=str(path)) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", where=f"{path}:{line}",
                    hint="save the file as UTF-8") from exc


def _syntax_error(exc: yaml.YAMLError, text: str, source: str, error: type[QmsError], *, fast: bool) -> QmsError:
    """A YAML syntax error as `error`, at `source:line` wherever the parser says where it broke."""
    line: int | None = None
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        problem = exc.problem or exc.context or str(exc)
        begun = exc.context_mark
        if (begun is not None and line is not None and begun.line + 1 < line
                and (exc.context or "").startswith(("while scanning", "while parsing a flow"))):
            # a key, quoted string or [ ] / { } begun on an earlier line and never finished: the mistake is
            # where it began (a missing colon or closing quote), not where the parser gave up
            problem = f"{problem} ({exc.context} begun on this line; the parser stopped at line {line})"
            line = begun.line + 1
    else:
        problem = str(exc).splitlines()[0]
        if isinstance(exc, ReaderError):  # a bad character: libyaml gives its byte offset, PyYAML its character's
            before = text.encode("utf-8")[: exc.position] if fast else text[: exc.position].encode("utf-8")
            line = before.count(b"\n") + 1
    return error(f"not valid YAML: {problem}", where=source if line is None else f"{source}:{line}",
                 hint="fix the YAML syntax (indentation, quoting, a missing colon)")


def documents(text: str, source: str, *, character_marks: bool = False) -> Iterator[yaml.Node]:
    """The node of each document of a YAML stream, in order; a syntax error raises ConfigError at file:line.

    The documents before a syntax error are yielded first. `character_marks` uses the
    pure-Python parser, whose marks' `index` counts characters (libyaml's counts bytes).
    """
    kind = yaml.SafeLoader if character_marks else _FAST
    loader = kind(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                yield node
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, source, ConfigError, fast=kind is not yaml.SafeLoader) from exc
    finally:
        loader.dispose()


def construct(node: yaml.Node) -> Any:
    """The plain value of a node, exactly as `yaml.safe_load` would build it."""
    return SafeConstructor().construct_object(node, deep=True)


def parse(text: str, source: str, error: type[QmsError] = ConfigError) -> Located:
    """One YAML document's plain values and the line of each; keys must be unique text."""
    loader = _FAST(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, text, source, error, fast=_FAST is not yaml.SafeLoader) from exc
    finally:
        loader.dispose()
    lines: dict[PathKey, int] = {}
    constructor = SafeConstructor()

    def build(node: yaml.Node, path: PathKey) -> Any:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key, line = key_node.value, key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode) or not isinstance(key, str):
                    raise error("keys must be plain text", where=f"{source}:{line}")
                if key in out:
                    raise error(f"key {key!r} appears twice", where=f"{source}:{line}")
                lines[(*path, key)] = line
                out[key] = build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    return Located(source, None if root is None else build(root, ()), lines)


def load(path: Path, error: type[QmsError] = ConfigError) -> Located:
    """A YAML file's plain values with the line of each; every problem raises `error` naming file:line."""
    return parse(read_text(path, error), str(path), error)


def load_records(path: Path, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The mappings listed under top-level `key`, each with its 1-based line."""
    doc = load(path)
    if doc.data is None:
        return []
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get(key, []), list):
        raise ConfigError(f"expected a mapping with a list under {key!r}", where=str(path))
    out: list[tuple[int, dict[str, Any]]] = []
    for i, item in enumerate(doc.data.get(key) or []):
        line = doc.lines[(key, i)]
        if not isinstance(item, dict):
            raise ConfigError("each entry must be a mapping", where=f"{path}:{line}")
        out.append((line, item))
    return out
