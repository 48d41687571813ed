"""Design items (ISO 13485 §7.3, IEC 62304 §5, ISO 14971) and their content fingerprints.

An item is a user need, a software requirement, an architecture item, a hazard or a risk
control. It links to its parents (several: the items form a graph). A link carries the
parent's fingerprint at the link's last review; the fingerprint is taken over the
item's normalised meaning, so re-wrapping a paragraph or trailing spaces change nothing.
"""

from __future__ import annotations

import re
from functools import cached_property
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from qms.hashing import digest_of

__all__ = [
    "ALLOWED_PARENTS", "CLASSIFIED", "COMMON_FIELDS", "CONTROL_TYPES", "DEFAULT_PREFIXES", "FINGERPRINT_LENGTH",
    "HAZARD_FIELDS", "Item", "ItemType", "Link", "NEEDS_TEST", "REQUIRED_FIELDS", "TYPE_FIELDS", "VERIFIABLE",
    "fingerprint", "normalise_text", "with_article",
]

FINGERPRINT_LENGTH = 16


class ItemType(str, Enum):
    """The kinds of design item, in the standards' words."""

    NEED = "need"
    REQUIREMENT = "requirement"
    ARCHITECTURE = "architecture"
    HAZARD = "hazard"
    RISK_CONTROL = "risk_control"


_TYPES = {t.value: t for t in ItemType}

DEFAULT_PREFIXES: dict[ItemType, str] = {
    ItemType.NEED: "NEED",
    ItemType.REQUIREMENT: "REQ",
    ItemType.ARCHITECTURE: "ARCH",
    ItemType.HAZARD: "HAZ",
    ItemType.RISK_CONTROL: "RC",
}

# Which parent types make sense for each child type:
#   a requirement derives from a need, a parent requirement, or implements a risk control;
#   an architecture item implements requirements or refines architecture (IEC 62304 §5.3);
#   a hazard may name the software items contributing to it (IEC 62304 §7.1.1);
#   a risk control mitigates hazards (ISO 14971 §7.1).
ALLOWED_PARENTS: dict[ItemType, frozenset[ItemType]] = {
    ItemType.NEED: frozenset(),
    ItemType.REQUIREMENT: frozenset({ItemType.NEED, ItemType.REQUIREMENT, ItemType.RISK_CONTROL}),
    ItemType.ARCHITECTURE: frozenset({ItemType.REQUIREMENT, ItemType.ARCHITECTURE}),
    ItemType.HAZARD: frozenset({ItemType.ARCHITECTURE}),
    ItemType.RISK_CONTROL: frozenset({ItemType.HAZARD}),
}
# Items a test may verify: requirements and risk controls, and architecture items through
# integration tests (IEC 62304 §5.6).
VERIFIABLE: frozenset[ItemType] = frozenset({ItemType.REQUIREMENT, ItemType.RISK_CONTROL, ItemType.ARCHITECTURE})
# Items that need a test of their own.
NEEDS_TEST: frozenset[ItemType] = frozenset({ItemType.REQUIREMENT, ItemType.RISK_CONTROL})

COMMON_FIELDS = ("id", "type", "title", "text", "parents", "safety_class")
HAZARD_FIELDS = ("hazardous_situation", "harm", "severity", "probability",
                 "residual_severity", "residual_probability", "benefit_risk")
CONTROL_TYPES = ("inherent_safety", "protective_measure", "information_for_safety")  # ISO 14971 §7.1
TYPE_FIELDS: dict[ItemType, tuple[str, ...]] = {
    ItemType.NEED: (),
    ItemType.REQUIREMENT: (),
    ItemType.ARCHITECTURE: (),
    ItemType.HAZARD: HAZARD_FIELDS,
    ItemType.RISK_CONTROL: ("control_type",),
}
REQUIRED_FIELDS: dict[ItemType, tuple[str, ...]] = {
    ItemType.NEED: ("id", "type", "title", "text"),
    ItemType.REQUIREMENT: ("id", "type", "title", "text", "parents"),
    ItemType.ARCHITECTURE: ("id", "type", "title", "text", "parents", "safety_class"),
    ItemType.HAZARD: ("id", "type", "title", "text", *HAZARD_FIELDS[:-1]),
    ItemType.RISK_CONTROL: ("id", "type", "title", "text", "parents", "control_type"),
}
# Items that are software items and so carry an IEC 62304 §4.3 safety class.
CLASSIFIED: frozenset[ItemType] = frozenset({ItemType.REQUIREMENT, ItemType.ARCHITECTURE, ItemType.RISK_CONTROL})

_PARAGRAPH = re.compile(r"\n\s*\n")


def normalise_text(text: str) -> str:
    """Whitespace-insensitive form: paragraphs kept, every other run of whitespace one space."""
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH.split(text.replace("\r\n", "\n")))
    return "\n\n".join(p for p in paragraphs if p)


def with_article(noun: str) -> str:
    """A type name for a sentence, with its article: "an architecture", "a risk control"."""
    noun = noun.replace("_", " ")
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


@dataclass(frozen=True)
class Link:
    """A link from a child to a parent, with the parent's fingerprint at the last review."""

    parent: str
    reviewed: str | None
    line: int


@dataclass(frozen=True)
class Item:
    """One design item as read from its file (validated by `qms.traceability.checks`)."""

    id: str
    type: ItemType
    title: str
    text: str
    file: str
    line: int
    links: tuple[Link, ...] = ()
    safety_class: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    field_lines: tuple[tuple[str, int], ...] = field(default=(), compare=False, repr=False)
    """(field name, line) of each field as written, so a finding about a field names its own line (not in
    the report cache, which keeps the findings already placed)."""

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def where_of(self, name: str) -> str:
        """file:line of the field `name`, or of the item when the field is not written."""
        line = next((n for f, n in self.field_lines if f == name), self.line)
        return f"{self.file}:{line}"

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(link.parent for link in self.links)

    @cached_property
    def fingerprint(self) -> str:
        return fingerprint(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "type": self.type.value, "title": self.title, "text": self.text, "file": self.file,
            "line": self.line, "links": [[k.parent, k.reviewed, k.line] for k in self.links],
            "safety_class": self.safety_class, "attributes": self.attributes, "fingerprint": self.fingerprint,
            "field_lines": [list(f) for f in self.field_lines],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        """An item from its cache form; the cached fingerprint is the one of this very content."""
        item = cls(
            id=data["id"], type=_TYPES[data["type"]], title=data["title"], text=data["text"], file=data["file"],
            line=data["line"], links=tuple(Link(p, r, n) for p, r, n in data["links"]),
            safety_class=data["safety_class"], attributes=data["attributes"],
            field_lines=tuple((str(f), int(n)) for f, n in data.get("field_lines", ())),
        )
        item.__dict__["fingerprint"] = data["fingerprint"]
        return item


def _normalise_value(value: Any) -> Any:
    return normalise_text(value) if isinstance(value, str) else value


def fingerprint(item: Item) -> str:
    """Digest of what the item means: type, title, text, class and attributes, whitespace-normalised.

    Links are not part of it: a parent's own parents changing does not change what a child
    derived from it.
    """
    content = {
        "type": item.type.value, "title": normalise_text(item.title), "text": normalise_text(item.text),
        "safety_class": item.safety_class,
        "attributes": {k: _normalise_value(v) for k, v in sorted(item.attributes.items())},
    }
    return digest_of(content)[:FINGERPRINT_LENGTH]
