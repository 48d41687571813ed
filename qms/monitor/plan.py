"""The bias report's post-market monitoring plan, as `qms monitor` executes it.

The plan is the `post_market` section of the locked bias protocol that was run on the
production version (VALIDATION.md: metrics, frequency, trigger, owner); the groups it
watches are those the run listed (`qms.validation.monitoring.plan`), and the subgroups,
flag threshold and intervals are the protocol's `subgroups`. Its frequency and trigger are
sentences people read, so they are read here with a small, strict grammar; a sentence
outside it is refused with the protocol's file and what the grammar accepts, never guessed.

    frequency: daily | weekly | monthly | quarterly | yearly | every N days|weeks
               [, and after every N flagged studies|requests]
    trigger:   CLAUSE [, or CLAUSE]...
    CLAUSE:    METRIC [of (any monitored group | any group | overall)] [lower|upper bound]
                   (below|above) X [on its (lower|upper) [95 %] bound]
             | [a] METRIC gap between ATTRIBUTEs above X

METRIC is a subgroup metric (`flag-rate` or `flag_rate`); a gap is the largest difference of
the metric's estimates between the groups of one attribute with enough cases (`min_size`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from qms.errors import CheckFailed, QmsError
from qms.store import Store
from qms.validation.criteria import Subgroups
from qms.validation.metrics import Metric

__all__ = ["Bound", "Frequency", "Gap", "MonitoringPlan", "Scope", "find_plan", "parse_frequency", "parse_trigger"]

_PERIODS = {"daily": 1, "weekly": 7, "monthly": 30, "quarterly": 91, "yearly": 365, "annually": 365}
_UNITS = {"day": 1, "week": 7}
_NUMBER = r"(\d+(?:\.\d+)?)"


class Scope(StrEnum):
    """Which groups a bound applies to: all cases, the groups the run listed, or every group of every attribute."""

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
    """The largest difference of `metric`'s estimates between the groups of `attribute`, above `value`."""

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


@dataclass(frozen=True)
class MonitoringPlan:
    """The executable plan, where it came from, and the notes of every command-line override."""

    run_id: str
    protocol: str
    path: Path
    owner: str
    metrics: tuple[Metric, ...]
    frequency: Frequency
    triggers: tuple[Bound | Gap, ...]
    subgroups: Subgroups
    monitored: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {"bias_run": self.run_id, "protocol": self.protocol, "owner": self.owner,
                "metrics": [m.value for m in self.metrics], "frequency": self.frequency.text,
                "window_days": self.frequency.period.total_seconds() / 86400, "window_flagged": self.frequency.flagged,
                "triggers": [t.text for t in self.triggers], "label": self.subgroups.label,
                "threshold": self.subgroups.threshold, "monitored_groups": [f"{a}={g}" for a, g in self.monitored]}


def parse_frequency(text: str, where: str) -> Frequency:
    """`quarterly, and after every 500 flagged studies` -> 91 days, or 500 flagged studies, whichever comes first."""
    spoken = " ".join(text.lower().split())
    match = re.fullmatch(r"(?:(daily|weekly|monthly|quarterly|yearly|annually)|every (\d+) (day|week)s?)"
                         r"(?:,? (?:and )?(?:after )?every (\d+) flagged (?:studies|study|requests|request))?", spoken)
    if match is None:
        raise QmsError(f"the post-market frequency {text!r} is not one `qms monitor` can execute", where=where,
                       hint="daily, weekly, monthly, quarterly, yearly or 'every N days', optionally followed by "
                            "', and after every N flagged studies'")
    named, count, unit, flagged = match.groups()
    days = _PERIODS[named] if named else int(count) * _UNITS[unit]
    if days <= 0 or (flagged is not None and int(flagged) <= 0):
        raise QmsError(f"the post-market frequency {text!r} names a window of zero", where=where)
    return Frequency(timedelta(days=days), int(flagged) if flagged else None, text)


def _metric(word: str, subgroups: Subgroups, where: str) -> Metric:
    name = word.replace("-", "_")
    found = next((m for m in subgroups.metrics if m.value == name), None)
    if found is None:
        raise QmsError(f"the post-market trigger names {word!r}, which is not a subgroup metric of the protocol",
                       where=where, hint=f"subgroup metrics: {', '.join(m.value for m in subgroups.metrics)}")
    return found


def _attribute(words: str, subgroups: Subgroups, where: str) -> str:
    wanted = words.removesuffix(" groups").removesuffix("s").lower()
    found = next((a.name for a in subgroups.attributes if a.name.lower() in (wanted, words.lower())), None)
    if found is None:
        raise QmsError(f"the post-market trigger names a gap between {words!r}, which is no subgroup attribute",
                       where=where, hint=f"attributes: {', '.join(a.name for a in subgroups.attributes)}")
    return found


def _clause(text: str, subgroups: Subgroups, where: str) -> Bound | Gap:
    spoken = " ".join(text.lower().split()).removeprefix("a ").removeprefix("an ")
    gap = re.fullmatch(rf"([a-z_-]+) gap between (.+?) (?:above|over) {_NUMBER}", spoken)
    if gap is not None:
        return Gap(_metric(gap[1], subgroups, where), _attribute(gap[2], subgroups, where), float(gap[3]), text.strip())
    bound = re.fullmatch(rf"([a-z_-]+)(?: of (any monitored group|any group|overall))?(?: (lower|upper) bound)?"
                         rf" (below|under|above|over) {_NUMBER}(?: on its (lower|upper)(?: \d+ ?%)? bound)?", spoken)
    if bound is None:
        raise QmsError(f"the post-market trigger clause {text.strip()!r} is not one `qms monitor` can execute",
                       where=where, hint="'METRIC [of any monitored group|any group|overall] below|above X "
                                         "[on its lower 95 % bound]' or 'a METRIC gap between ATTRIBUTEs above X', "
                                         "clauses joined by ', or'")
    metric, scope, side, direction, value, side_after = bound.groups()
    scopes = {None: Scope.OVERALL, "overall": Scope.OVERALL, "any monitored group": Scope.MONITORED,
              "any group": Scope.ANY}
    return Bound(_metric(metric, subgroups, where), scopes[scope], side or side_after or "estimate",
                 direction in ("below", "under"), float(value), text.strip())


def parse_trigger(text: str, subgroups: Subgroups, where: str) -> tuple[Bound | Gap, ...]:
    """Every clause of the trigger sentence (joined by 'or'); any one breached is the trigger breached."""
    return tuple(_clause(part, subgroups, where) for part in re.split(r",? or ", " ".join(text.split())) if part)


def find_plan(store: Store, model_ref: str, root: Path) -> MonitoringPlan | None:
    """The plan of the newest recorded run of a locked protocol with a post-market plan on `model_ref`, or None.

    The protocol file must still be the locked text; the groups watched are those the run listed."""
    from qms.validation.protocolparser import read_protocol
    from qms.validation.records import ProtocolLock, ValidationRun

    with store.reader() as session:
        runs = session.exec(select(ValidationRun).where(ValidationRun.model_ref == model_ref)
                            .order_by(col(ValidationRun.created_at).desc())).all()
        for run in runs:
            stated = (json.loads(run.result).get("post_market") or {})
            if stated.get("stated"):
                lock = session.get(ProtocolLock, run.lock_id)
                break
        else:
            return None
    if lock is None:
        raise QmsError(f"validation run {run.id} names a protocol lock that is not recorded", where=f"validation:{run.id}")
    path = root / lock.path
    protocol = read_protocol(path)
    if protocol.text_sha256 != lock.text_sha256:
        raise CheckFailed(f"the bias protocol {lock.key} is not the text that was locked", where=str(path),
                          hint="the post-market plan is read from the locked protocol only")
    spec, subgroups = protocol.post_market, protocol.subgroups
    assert spec is not None and subgroups is not None  # the parser requires subgroups for a plan
    where = f"{lock.path} post_market"
    monitored = tuple(sorted({(str(g["attribute"]), str(g["group"])) for g in stated.get("groups", [])}))
    return MonitoringPlan(run.id, lock.key, path, spec.owner, spec.metrics, parse_frequency(spec.frequency, where),
                          parse_trigger(spec.trigger, subgroups, where), subgroups, monitored)
