"""Reading design item files: YAML, one item per document, every value with its line.

A file is a YAML stream; each document is one item (a mapping). A link is written
`- PARENT-ID` (never reviewed) or `- PARENT-ID: <fingerprint at last review>`. Nothing
here raises on bad input: a file that cannot be read becomes a finding naming the file
and line, and its readable items are still returned. A document with none of the item
fields (id, type, title, text, parents) is not a design item (e.g. the anomaly list kept
beside them) and is left to its own reader.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import yaml

from qms.errors import ConfigError
from qms.findings import Finding
from qms.traceability.findings import Check
from qms.traceability.items import (
    COMMON_FIELDS, TYPE_FIELDS, ItemType, Item, Link, with_article,
)
from qms.yamlfile import construct, documents

__all__ = ["ParsedFile", "decode", "parse_bytes", "parse_text"]

_TYPES = ", ".join(t.value for t in ItemType)


@dataclass(frozen=True)
class ParsedFile:
    """The items and findings of one file."""

    items: tuple[Item, ...]
    findings: tuple[Finding, ...]


def _bad(check: Check, where: str, reason: str, hint: str, item: str | None = None) -> Finding:
    return Finding(check, item, reason, hint, where=where)


def decode(data: bytes, rel: str) -> tuple[str | None, Finding | None]:
    """UTF-8 text of a file, or a finding naming the line of the first undecodable byte."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, _bad(Check.ENCODING, f"{rel}:{line}", f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
                          "save the file as UTF-8")


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _scalar(node: yaml.Node) -> str | None:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def _links(node: yaml.Node, rel: str, item_id: str, findings: list[Finding]) -> tuple[Link, ...]:
    hint = "write parents as a list: `- NEED-001` or `- NEED-001: <fingerprint>`"
    if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
        return ()
    if not isinstance(node, yaml.SequenceNode):
        findings.append(_bad(Check.BAD_FIELD, f"{rel}:{_line(node)}", "parents must be a list", hint, item_id))
        return ()
    links: list[Link] = []
    for entry in node.value:
        if isinstance(entry, yaml.ScalarNode) and entry.value:
            links.append(Link(str(entry.value), None, _line(entry)))
        elif isinstance(entry, yaml.MappingNode) and len(entry.value) == 1:
            key, value = entry.value[0]
            parent, stamp = _scalar(key), _scalar(value)
            if parent and stamp is not None:
                links.append(Link(parent, stamp if stamp not in ("", "~", "null") else None, _line(entry)))
                continue
            findings.append(_bad(Check.BAD_FIELD, f"{rel}:{_line(entry)}", "unreadable parent link", hint, item_id))
        else:
            findings.append(_bad(Check.BAD_FIELD, f"{rel}:{_line(entry)}", "unreadable parent link", hint, item_id))
    return tuple(links)


def _plain(value: Any) -> Any:
    """YAML values as JSON-able values (dates as ISO text) so the cache round-trips."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _item(node: yaml.Node, rel: str, findings: list[Finding]) -> Item | None:
    where = f"{rel}:{_line(node)}"
    if not isinstance(node, yaml.MappingNode):
        findings.append(_bad(Check.PARSE, where, "a design item must be a mapping of fields",
                             "start the document with `id: ...`"))
        return None
    fields: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in node.value:
        name = _scalar(key)
        if name is None:
            findings.append(_bad(Check.PARSE, f"{rel}:{_line(key)}", "a field name must be text", "use `name: value`"))
            continue
        if name in fields:
            findings.append(_bad(Check.PARSE, f"{rel}:{_line(key)}", f"field {name!r} appears twice",
                                 "keep one of them"))
        fields[name] = (key, value)
    if not fields.keys() & set(COMMON_FIELDS):
        return None
    id_node = fields.get("id")
    item_id = _scalar(id_node[1]) if id_node else None
    if not item_id:
        findings.append(_bad(Check.MISSING_FIELD, where, "the item has no id", "add `id: PREFIX-NNN`"))
        return None
    type_name = _scalar(fields["type"][1]) if "type" in fields else None
    try:
        item_type = ItemType(type_name)
    except ValueError:
        shown = "no type" if type_name is None else f"unknown type {type_name!r}"
        findings.append(_bad(Check.MISSING_FIELD if type_name is None else Check.BAD_FIELD, where, shown,
                             f"set `type:` to one of {_TYPES}", item_id))
        return None
    allowed = set(COMMON_FIELDS) | set(TYPE_FIELDS[item_type])
    attributes: dict[str, Any] = {}
    for name, (key, value) in fields.items():
        if name not in allowed:
            findings.append(_bad(Check.UNKNOWN_FIELD, f"{rel}:{_line(key)}", f"unknown field {name!r} for {with_article(item_type.value)}",
                                 f"allowed: {', '.join(sorted(allowed))}", item_id))
        elif name in TYPE_FIELDS[item_type]:
            attributes[name] = _plain(construct(value))
    text_fields = {}
    for name in ("title", "text", "safety_class"):
        value = fields.get(name)
        text_fields[name] = "" if value is None else (_scalar(value[1]) or "")
        if value is not None and _scalar(value[1]) is None:
            findings.append(_bad(Check.BAD_FIELD, f"{rel}:{_line(value[1])}", f"{name} must be text",
                                 f"write {name} as a plain or block string", item_id))
            if name != "safety_class":  # reported once: not again as missing
                text_fields[name] = yaml.serialize(value[1]).strip() or "?"
    links = _links(fields["parents"][1], rel, item_id, findings) if "parents" in fields else ()
    return Item(
        id=item_id, type=item_type, title=text_fields["title"], text=text_fields["text"], file=rel,
        line=_line(node), links=links, safety_class=text_fields["safety_class"] or None, attributes=attributes,
        field_lines=tuple((name, _line(key)) for name, (key, _) in fields.items()),
    )


def parse_text(text: str, rel: str) -> ParsedFile:
    """Parse one file's text; `rel` is the path shown in findings."""
    findings: list[Finding] = []
    items: list[Item] = []
    try:
        for node in documents(text, rel):
            item = _item(node, rel, findings)
            if item is not None:
                items.append(item)
    except ConfigError as exc:  # a syntax error: the items before it are kept
        findings.append(_bad(Check.PARSE, exc.where or rel, exc.message, exc.hint or ""))
    return ParsedFile(tuple(items), tuple(findings))


def parse_bytes(data: bytes, rel: str) -> ParsedFile:
    text, problem = decode(data, rel)
    if text is None:
        assert problem is not None
        return ParsedFile((), (problem,))
    return parse_text(text, rel)
