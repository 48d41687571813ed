"""Starting text of a new design item: the next free id, every field commented, valid as written.

`qms new KIND` writes it; the item then passes the checks except what only its author can
settle (its title and text, still this template's placeholders: `placeholder_fields`; a
hazard's risk estimate, left empty; the review of each parent link; a test that verifies it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from qms.traceability.items import ALLOWED_PARENTS, CLASSIFIED, CONTROL_TYPES, ItemType, with_article

__all__ = ["PLACEHOLDER_TITLE", "item_template", "next_id", "placeholder_fields"]

PLACEHOLDER_TITLE = "A short title"

_ABOUT = {
    ItemType.NEED: "A user need (IEC 62304 §5.2.1, ISO 13485 §7.3.3): what a user must be able to do.",
    ItemType.REQUIREMENT: "A software requirement (IEC 62304 §5.2): one testable \"shall\".",
    ItemType.ARCHITECTURE: "A software item of the architecture (IEC 62304 §5.3) and the requirements it implements.",
    ItemType.HAZARD: "A hazard (ISO 14971 §5.4, §5.5): its situation, harm, and risk before and after control.",
    ItemType.RISK_CONTROL: "A risk control measure (ISO 14971 §7.1) and the hazards it mitigates.",
}
_TEXT = {
    ItemType.NEED: "The user needs to ...",
    ItemType.REQUIREMENT: "The software shall ...",
    ItemType.ARCHITECTURE: "This software item ...",
    ItemType.HAZARD: "What can go wrong: ...",
    ItemType.RISK_CONTROL: "The software ... so that ...",
}
_HAZARD_TEXT = {"hazardous_situation": "Who is exposed to what, and when.", "harm": "The injury or damage that can result."}
_HAZARD = "".join(f"{k}: {v}\n" for k, v in _HAZARD_TEXT.items()) + """\
# 1 negligible .. 5 catastrophic; 1 improbable .. 5 frequent; risk = severity x probability
# (acceptable at most 4, ALARP 5..9 with a benefit_risk justification, unacceptable above);
# left empty: the estimate is the author's, and the trace fails the hazard until all four are written
severity:
probability:
residual_severity:
residual_probability:
# benefit_risk: why the benefit outweighs a residual risk in the ALARP band (ISO 14971 §7.4)
"""


def next_id(existing: Iterable[str], prefix: str, taken: Callable[[str], bool] = lambda _: False) -> str:
    """`PREFIX-NNN` one above the highest number used with that prefix (never reusing a gap: ids are never reused),
    skipping on to the first id that `taken` refuses (its file name holds another item)."""
    number = re.compile(rf"{re.escape(prefix)}-(\d+)")
    used = [int(m.group(1)) for i in existing if (m := number.fullmatch(i))]
    n = max(used, default=0) + 1
    while taken(candidate := f"{prefix}-{n:03d}"):
        n += 1
    return candidate


def _same(value: object, placeholder: str) -> bool:
    return isinstance(value, str) and " ".join(value.split()) == " ".join(placeholder.split())


def placeholder_fields(item_type: ItemType, title: str, text: str, attributes: Mapping[str, object]) -> list[str]:
    """The fields of an item still holding the text `item_template` wrote: the item was never written."""
    out = ["title"] if _same(title, PLACEHOLDER_TITLE) else []
    out += ["text"] if _same(text, _TEXT[item_type]) else []
    if item_type is ItemType.HAZARD:
        out += [k for k, v in _HAZARD_TEXT.items() if _same(attributes.get(k), v)]
    return out


def item_template(item_type: ItemType, item_id: str, parents: tuple[str, ...], safety_class: str,
                  schema: str | None = None) -> str:
    """The YAML of a new item; `schema` is the URL of its JSON Schema, for editors that complete fields."""
    lines = [f"# yaml-language-server: $schema={schema}"] if schema else []
    lines += [f"# {_ABOUT[item_type]}", f"id: {item_id}", f"type: {item_type.value}", f"title: {PLACEHOLDER_TITLE}"]
    if item_type is ItemType.ARCHITECTURE:
        lines.append(f"safety_class: {safety_class}  # A, B or C (IEC 62304 §4.3), at most the system's class")
    elif item_type in CLASSIFIED:
        lines.append(f"# safety_class: {safety_class}  # A, B or C (IEC 62304 §4.3), at most the system's class")
    lines += ["text: >", f"  {_TEXT[item_type]}"]
    if item_type is ItemType.HAZARD:
        lines.append(_HAZARD.rstrip("\n"))
    if item_type is ItemType.RISK_CONTROL:
        lines.append(f"control_type: protective_measure  # {', '.join(CONTROL_TYPES)} (ISO 14971 §7.1)")
    if ALLOWED_PARENTS[item_type]:
        kinds = " or ".join(with_article(t.value) for t in sorted(ALLOWED_PARENTS[item_type], key=lambda t: t.value))
        lines.append(f"# parents: {kinds}; after reviewing each link run `qms trace review {item_id}`")
        lines.append("parents:" if parents else "parents: []")
        lines += [f"  - {p}" for p in parents]
    return "\n".join(lines) + "\n"
