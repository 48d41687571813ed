"""The SOUP list: installed distributions joined with the soup file, native libraries, and changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qms.soup.inventory import Distribution
from qms.soup.native import NativePackage
from qms.soup.register import SoupEntry

__all__ = ["Change", "NOT_REVIEWED", "SoupItem", "SoupList", "build", "diff"]

NOT_REVIEWED = "not reviewed (transitive)"


@dataclass(frozen=True)
class SoupItem:
    """One component with the FDA SBOM fields: name, version, supplier, support, end of support, vulnerabilities."""

    distribution: Distribution
    entry: SoupEntry | None

    @property
    def direct(self) -> bool:
        return self.entry is not None

    def to_json(self) -> dict[str, Any]:
        e = self.entry
        return {**self.distribution.to_json(), "direct": self.direct,
                "purpose": e.purpose if e else "", "requirements": e.requirements if e else "",
                "anomaly_review": e.anomaly_review if e else "", "reviewed_version": e.version if e else "",
                "level_of_support": e.level_of_support if e else NOT_REVIEWED,
                "end_of_support": e.end_of_support if e else NOT_REVIEWED,
                "known_vulnerabilities": e.known_vulnerabilities if e else NOT_REVIEWED}


@dataclass(frozen=True)
class Change:
    name: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        return "added" if self.before is None else "removed" if self.after is None else "changed"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class SoupList:
    items: tuple[SoupItem, ...]
    native: tuple[NativePackage, ...]
    unmatched: tuple[SoupEntry, ...] = ()
    changes: tuple[Change, ...] | None = None
    previous_release: str | None = None

    def versions(self) -> dict[str, str]:
        return {i.distribution.name: i.distribution.version for i in self.items}

    def to_json(self) -> dict[str, Any]:
        return {"kind": "qms-soup/v1", "components": [i.to_json() for i in self.items],
                "native": [n.to_json() for n in self.native],
                "previous_release": self.previous_release,
                "changes": None if self.changes is None else [c.to_json() for c in self.changes]}


def diff(previous: dict[str, str], current: dict[str, str]) -> tuple[Change, ...]:
    """What was added, removed or changed version since the previous release (§8.2 change control)."""
    names = sorted(set(previous) | set(current))
    return tuple(Change(n, previous.get(n), current.get(n)) for n in names if previous.get(n) != current.get(n))


def build(dists: list[Distribution], entries: list[SoupEntry], native: list[NativePackage],
          previous: tuple[str, dict[str, str]] | None = None) -> SoupList:
    by_name = {e.name: e for e in entries}
    items = tuple(SoupItem(d, by_name.get(d.name)) for d in dists)
    installed = {d.name for d in dists}
    unmatched = tuple(e for e in entries if e.name not in installed)
    current = {d.name: d.version for d in dists}
    return SoupList(items, tuple(native), unmatched,
                    None if previous is None else diff(previous[1], current),
                    None if previous is None else previous[0])
