"""The post-market plan's frequency and trigger sentences, read with a small, strict grammar.

The protocol's `post_market` section (`qms.validation.monitoring`) states them for people to
read; `qms monitor` executes them. So that a plan nobody can execute is never locked, the
protocol parser reads both sentences with this grammar and refuses one outside it at
file:line, naming what it accepts; `qms.monitor.plan` reads them again, the same way.

    frequency: daily | weekly | monthly | quarterly | yearly | every N days|weeks
               [, and after every N flagged studies|requests]
    trigger:   CLAUSE [, or CLAUSE]...
    CLAUSE:    METRIC [of (any monitored group | any group | overall)] [lower|upper bound]
                   (below|above) X [on its (lower|upper) [95 %] bound]
             | [a] METRIC gap between ATTRIBUTEs above X
             | [a] METRIC gap between ATTRIBUTE × ATTRIBUTE [× ...] cells above X

METRIC is a subgroup metric (`flag-rate` or `flag_rate`); a gap is the largest difference of
the metric's estimates between the groups of one attribute, or the cells of one listed
intersection (`subgroups.intersections`; "×", "x" or "by" between the attributes), with
enough cases (`min_size`). "Any group" is every group of every attribute and every cell of
every listed intersection, as the bias report lists them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from qms.errors import QmsError
from qms.validation.criteria import Subgroups, intersection_name
from qms.validation.metrics import Metric

__all__ = ["Bound", "FREQUENCY_FORMS", "Frequency", "Gap", "Scope", "TRIGGER_FORMS", "parse_frequency",
           "parse_trigger"]

FREQUENCY_FORMS = ("daily, weekly, monthly, quarterly, yearly or 'every N days', optionally followed by "
                   "', and after every N flagged studies'")
TRIGGER_FORMS = ("'METRIC [of any monitored group|any group|overall] below|above X [on its lower 95 % bound]' or "
                 "'a METRIC gap between ATTRIBUTEs above X' or 'a METRIC gap between ATTRIBUTE × ATTRIBUTE cells "
                 "above X', clauses joined by ', or'")
_PERIODS = {"daily": 1, "weekly": 7, "monthly": 30, "quarterly": 91, "yearly": 365, "annually": 365}
_UNITS = {"day": 1, "week": 7}
_NUMBER = r"(\d+(?:\.\d+)?)"
_CROSSES = re.compile(r"\s*(?:×|\bx\b|\bby\b)\s*")


class Scope(StrEnum):
    """Which groups a bound applies to: all cases, the groups the run listed, or every group and cell."""

    OVERALL = "overall"
    MONITORED = "monitored"
    ANY = "any"


@dataclass(frozen=True)
class Bound:
    """`metric` of the groups in `scope`, its estimate or one end of its interval (`side`), below or above `value`."""

    metric: Metric
    scope: Scope
    side: str
    below: bool
    value: float
    text: str

    def breached(self, estimate: float, lower: float, upper: float) -> bool:
        x = {"estimate": estimate, "lower": lower, "upper": upper}[self.side]
        return x == x and (x < self.value if self.below else x > self.value)


@dataclass(frozen=True)
class Gap:
    """The largest difference of `metric`'s estimates between the groups of `attribute` (an attribute, or a listed
    intersection by its `intersection_name`), above `value`."""

    metric: Metric
    attribute: str
    value: float
    text: str


@dataclass(frozen=True)
class Frequency:
    """A window closes after `period`, or (when stated) once `flagged` flagged studies have arrived in it."""

    period: timedelta
    flagged: int | None
    text: str


def parse_frequency(text: str, where: str) -> Frequency:
    """`quarterly, and after every 500 flagged studies` -> 91 days, or 500 flagged studies, whichever comes first."""
    spoken = " ".join(text.lower().split())
    match = re.fullmatch(r"(?:(daily|weekly|monthly|quarterly|yearly|annually)|every (\d+) (day|week)s?)"
                         r"(?:,? (?:and )?(?:after )?every (\d+) flagged (?:studies|study|requests|request))?", spoken)
    if match is None:
        raise QmsError(f"the post-market frequency {text!r} is not one `qms monitor` can execute", where=where,
                       hint=FREQUENCY_FORMS)
    named, count, unit, flagged = match.groups()
    days = _PERIODS[named] if named else int(count) * _UNITS[unit]
    if days <= 0 or (flagged is not None and int(flagged) <= 0):
        raise QmsError(f"the post-market frequency {text!r} names a window of zero", where=where, hint=FREQUENCY_FORMS)
    return Frequency(timedelta(days=days), int(flagged) if flagged else None, text)


def _metric(word: str, subgroups: Subgroups, where: str) -> Metric:
    name = word.replace("-", "_")
    found = next((m for m in subgroups.metrics if m.value == name), None)
    if found is None:
        raise QmsError(f"the post-market trigger names {word!r}, which is not a subgroup metric of the protocol",
                       where=where, hint=f"subgroup metrics: {', '.join(m.value for m in subgroups.metrics)}")
    return found


def _one_attribute(words: str, subgroups: Subgroups) -> str | None:
    wanted = words.removesuffix(" groups").removesuffix(" cells").removesuffix("s").lower()
    return next((a.name for a in subgroups.attributes if a.name.lower() in (wanted, words.lower())), None)


def _dimension(words: str, subgroups: Subgroups, where: str) -> str:
    """An attribute ("sites", "Manufacturer groups") or a listed intersection ("PatientSex × PatientAge cells")."""
    parts = _CROSSES.split(words.removesuffix(" cells").removesuffix(" groups"))
    if len(parts) == 1:
        found = _one_attribute(words, subgroups)
    else:
        names = [_one_attribute(p, subgroups) for p in parts]
        listed = {tuple(n.lower() for n in c): c for c in subgroups.intersections}
        cell = listed.get(tuple(n.lower() for n in names if n)) if all(names) else None
        found = intersection_name(cell) if cell else None
    if found is None:
        crossed = "; ".join(intersection_name(c) for c in subgroups.intersections) or "none listed"
        raise QmsError(f"the post-market trigger names a gap between {words!r}, which is no subgroup attribute or "
                       "listed intersection", where=where,
                       hint=f"attributes: {', '.join(a.name for a in subgroups.attributes)}; intersections: {crossed}")
    return found


def _clause(text: str, subgroups: Subgroups, where: str) -> Bound | Gap:
    spoken = " ".join(text.lower().split()).removeprefix("a ").removeprefix("an ")
    gap = re.fullmatch(rf"([a-z_-]+) gap between (.+?) (?:above|over) {_NUMBER}", spoken)
    if gap is not None:
        return Gap(_metric(gap[1], subgroups, where), _dimension(gap[2], subgroups, where), float(gap[3]), text.strip())
    bound = re.fullmatch(rf"([a-z_-]+)(?: of (any monitored group|any group|overall))?(?: (lower|upper) bound)?"
                         rf" (below|under|above|over) {_NUMBER}(?: on its (lower|upper)(?: \d+ ?%)? bound)?", spoken)
    if bound is None:
        raise QmsError(f"the post-market trigger clause {text.strip()!r} is not one `qms monitor` can execute",
                       where=where, hint=TRIGGER_FORMS)
    metric, scope, side, direction, value, side_after = bound.groups()
    scopes = {None: Scope.OVERALL, "overall": Scope.OVERALL, "any monitored group": Scope.MONITORED,
              "any group": Scope.ANY}
    return Bound(_metric(metric, subgroups, where), scopes[scope], side or side_after or "estimate",
                 direction in ("below", "under"), float(value), text.strip())


def parse_trigger(text: str, subgroups: Subgroups, where: str) -> tuple[Bound | Gap, ...]:
    """Every clause of the trigger sentence (joined by 'or'); any one breached is the trigger breached."""
    return tuple(_clause(part, subgroups, where) for part in re.split(r",? or ", " ".join(text.split())) if part)
