"""The bias report's post-market monitoring plan, as `qms monitor` executes it.

The plan is the `post_market` section of the locked bias protocol that was run on the
production version (VALIDATION.md: metrics, frequency, trigger, owner); the groups it
watches are those the run listed (`qms.validation.monitoring.plan`), and the subgroups,
flag threshold and intervals are the protocol's `subgroups`. Its frequency and trigger are
sentences people read, read with a small, strict grammar (`qms.validation.post_market`): the
protocol parser already refuses a sentence outside it, so `qms protocol check` and
`qms protocol lock` refuse such a plan at file:line before it is ever locked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from qms.errors import CheckFailed, QmsError
from qms.store import Store
from qms.validation.criteria import Subgroups
from qms.validation.metrics import Metric
from qms.validation.post_market import Bound, Frequency, Gap, parse_frequency, parse_trigger

__all__ = ["MonitoringPlan", "find_plan"]


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
