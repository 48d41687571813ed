"""The checks of a set of design items; each problem is a finding with file:line and a hint.

Unique ids (also across files), id prefixes, required fields, fields still holding `qms new`'s
placeholder text, link targets, link types, cycles, ISO 14971 residual risk, IEC 62304 safety
classes, and suspect links (a link whose parent changed since the link was last reviewed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from qms.findings import Finding
from qms.traceability import risk
from qms.traceability.findings import Check
from qms.traceability.graph import cyclic_components
from qms.traceability.items import (
    ALLOWED_PARENTS, CLASSIFIED, CONTROL_TYPES, HAZARD_FIELDS, REQUIRED_FIELDS, Item, ItemType, with_article,
)
from qms.traceability.template import placeholder_fields

__all__ = ["check_items"]

_SAFETY_ORDER = {"A": 0, "B": 1, "C": 2}


def _present(item: Item, name: str) -> bool:
    if name in ("id", "type"):
        return True
    if name == "parents":
        return bool(item.links)
    if name in ("title", "text"):
        return bool(getattr(item, name).strip())
    if name == "safety_class":
        return item.safety_class is not None
    return item.attributes.get(name) not in (None, "")


def _fields(item: Item, project_class: str) -> Iterable[Finding]:
    for name in REQUIRED_FIELDS[item.type]:
        if not _present(item, name):
            yield Finding(Check.MISSING_FIELD, item.id, f"{with_article(item.type.value)} needs {name!r}",
                          f"add `{name}:` to the item", where=item.where)
    if item.safety_class is not None:
        if item.type not in CLASSIFIED:
            yield Finding(Check.BAD_FIELD, item.id, f"{with_article(item.type.value)} has no software safety class",
                          "remove safety_class (IEC 62304 §4.3 classifies software items)",
                          where=item.where_of("safety_class"))
        elif item.safety_class not in _SAFETY_ORDER:
            yield Finding(Check.BAD_FIELD, item.id, f"safety_class {item.safety_class!r} is not A, B or C",
                          "use A, B or C (IEC 62304 §4.3)", where=item.where_of("safety_class"))
        elif _SAFETY_ORDER[item.safety_class] > _SAFETY_ORDER[project_class]:
            yield Finding(Check.BAD_FIELD, item.id,
                          f"safety_class {item.safety_class} exceeds the system's class {project_class}",
                          "a software item cannot be classed above its software system (IEC 62304 §4.3)",
                          where=item.where_of("safety_class"))
    placeholders = placeholder_fields(item.type, item.title, item.text, item.attributes)
    if placeholders:
        named = " and ".join(placeholders)
        yield Finding(Check.PLACEHOLDER, item.id, f"{named} still the template's placeholder (`qms new` wrote it; "
                      "the item was never written)", f"write the item's {named} in {item.file}",
                      where=item.where_of(placeholders[0]))
    if item.type is ItemType.HAZARD:
        yield from _hazard(item)
    if item.type is ItemType.RISK_CONTROL and item.attributes.get("control_type") not in (None, *CONTROL_TYPES):
        yield Finding(Check.BAD_FIELD, item.id, f"control_type {item.attributes['control_type']!r} is unknown",
                      f"use one of {', '.join(CONTROL_TYPES)} (ISO 14971 §7.1)", where=item.where_of("control_type"))


def _hazard(item: Item) -> Iterable[Finding]:
    levels = {}
    for name in HAZARD_FIELDS[2:6]:
        value = item.attributes.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value not in risk.LEVELS:
            yield Finding(Check.BAD_FIELD, item.id, f"{name} must be an integer 1..5, found {value!r}",
                          "severity: 1 negligible .. 5 catastrophic; probability: 1 improbable .. 5 frequent",
                          where=item.where_of(name))
            continue
        levels[name] = value
    if len(levels) < 4:
        return
    before = risk.risk_index(levels["severity"], levels["probability"])
    after = risk.risk_index(levels["residual_severity"], levels["residual_probability"])
    verdict = risk.evaluate(levels["residual_severity"], levels["residual_probability"])
    if after > before:
        yield Finding(Check.RESIDUAL_RISK, item.id, f"residual risk {after} is above the initial risk {before}",
                      "a risk control must not increase the risk (ISO 14971 §7.6)",
                      where=item.where_of("residual_severity"))
    if verdict is risk.Acceptability.UNACCEPTABLE:
        yield Finding(Check.RESIDUAL_RISK, item.id,
                      f"residual risk {after} (severity {levels['residual_severity']} x probability "
                      f"{levels['residual_probability']}) is not acceptable",
                      "add or strengthen risk controls until the residual risk is acceptable (ISO 14971 §7.3)",
                      where=item.where_of("residual_severity"))
    elif verdict is risk.Acceptability.ALARP and not str(item.attributes.get("benefit_risk") or "").strip():
        yield Finding(Check.RESIDUAL_RISK, item.id,
                      f"residual risk {after} is in the ALARP band and has no benefit-risk justification",
                      "add `benefit_risk:` explaining why the benefit outweighs the risk (ISO 14971 §7.4)",
                      where=item.where)


def check_items(items: Iterable[Item], prefixes: Mapping[ItemType, str],
                project_class: str) -> tuple[dict[str, Item], list[Finding], frozenset[str]]:
    """Every item-level and graph-level check: the items by id (first wins), the findings, the items on cycles."""
    by_id: dict[str, Item] = {}
    findings: list[Finding] = []
    patterns = {t: re.compile(rf"{re.escape(p)}-[0-9]+(?:\.[0-9]+)*") for t, p in prefixes.items()}
    for item in items:
        first = by_id.get(item.id)
        if first is not None:
            findings.append(Finding(Check.DUPLICATE_ID, item.id, f"id {item.id} is already used at {first.where}",
                                    "give one of the items a new id; ids are never reused", where=item.where))
            continue
        by_id[item.id] = item
        if not patterns[item.type].fullmatch(item.id):
            findings.append(Finding(Check.ID_PREFIX, item.id,
                                    f"{with_article(item.type.value)} id must look like {prefixes[item.type]}-NNN "
                                    f"(digits after the prefix), not {item.id}",
                                    "rename the item, or set id_prefixes in [tool.qms]", where=item.where_of("id")))
        findings.extend(_fields(item, project_class))
    findings.extend(_links(by_id))
    components = cyclic_components({i.id: i.parents for i in by_id.values()})
    for component in components:
        first = by_id[component[0]]
        loop = " -> ".join((*component, component[0]))
        findings.append(Finding(Check.CYCLE, first.id, f"items link in a cycle: {loop}",
                                "a parent cannot descend from its own child; remove one of the links",
                                where=first.where))
    return by_id, findings, frozenset(i for c in components for i in c)


def _links(by_id: Mapping[str, Item]) -> Iterable[Finding]:
    for item in by_id.values():
        seen: set[str] = set()
        for link in item.links:
            where = f"{item.file}:{link.line}"
            parent = by_id.get(link.parent)
            if link.parent in seen:
                yield Finding(Check.BAD_FIELD, item.id, f"parent {link.parent} is listed twice", "list it once",
                              where=where)
            seen.add(link.parent)
            if parent is None:
                yield Finding(Check.DANGLING_LINK, item.id, f"parent {link.parent} does not exist",
                              "fix the id, or add the missing item", where=where)
                continue
            if parent.type not in ALLOWED_PARENTS[item.type]:
                allowed = ", ".join(sorted(t.value for t in ALLOWED_PARENTS[item.type])) or "none"
                yield Finding(Check.LINK_TYPE, item.id,
                              f"{with_article(item.type.value)} cannot have {with_article(parent.type.value)} ({parent.id}) as parent",
                              f"{with_article(item.type.value)}'s parents may be: {allowed}", where=where)
            if link.reviewed != parent.fingerprint:
                reason = ("link to {p} was never reviewed" if link.reviewed is None
                          else "{p} changed since the link was reviewed").format(p=parent.id)
                yield Finding(Check.SUSPECT_LINK, item.id, reason,
                              f"review {item.id} against {parent.id}, then run `qms trace review {item.id}`",
                              where=where)
