"""The models the service answers with, re-checked at start and on every reload.

`reload` runs the eligibility checks over every production version and every version now
served; a version that stops passing (demoted, tampered, bundle gone) is dropped with its
reason. Each change of a version's status (loaded, refused for a new reason) is one audit
event, so a periodic reload does not repeat unchanged news.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from qms import audit
from qms.api.eligibility import Eligibility, ServingPolicy, check_version, production_refs
from qms.models.loaders import LoadedModel
from qms.models.refs import parse_ref
from qms.store import Store

__all__ = ["Catalogue"]


@dataclass
class Catalogue:
    """Served models by name (one production version per name: the latest promoted), and refusals by ref."""

    store: Store
    policy: ServingPolicy
    actor: str
    served: dict[str, LoadedModel] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reload(self) -> list[Eligibility]:
        """Check every candidate version again and serve exactly those that pass."""
        with self._lock:
            production = production_refs(self.store)  # a name's most recently promoted version is served
            candidates = [*(m.ref for m in self.served.values() if m.ref not in production), *production]
            outcomes = [check_version(self.store, ref, self.policy) for ref in candidates]
            served: dict[str, LoadedModel] = {}
            refused: dict[str, str] = {}
            for outcome in outcomes:
                name = parse_ref(outcome.ref)[0]
                if outcome.model is not None:
                    served[name] = outcome.model
                else:
                    refused[outcome.ref] = outcome.reason
            self._audit(served, refused)
            self.served, self.refused = served, refused
            return outcomes

    def _audit(self, served: dict[str, LoadedModel], refused: dict[str, str]) -> None:
        before = {m.ref: m.digest for m in self.served.values()}
        for model in served.values():
            if before.get(model.ref) != model.digest:
                audit.record(self.store, audit.EventSpec(self.actor, "api.model.load", f"model:{model.ref}",
                                                         after=audit.state_digest({"digest": model.digest}),
                                                         details={"digest": model.digest}))
        for ref, reason in refused.items():
            if self.refused.get(ref) != reason:
                audit.record(self.store, audit.EventSpec(self.actor, "api.model.refuse", f"model:{ref}",
                                                         details={"reason": reason, "was_served": ref in before}))

    def model(self, name: str) -> LoadedModel | None:
        return self.served.get(name)

    def withdraw(self, name: str, reason: str) -> None:
        """Stop serving `name` at once (a request found it no longer production); audited like a reload refusal."""
        with self._lock:
            model = self.served.pop(name, None)
            if model is not None:
                self.refused[model.ref] = reason
                audit.record(self.store, audit.EventSpec(self.actor, "api.model.refuse", f"model:{model.ref}",
                                                         details={"reason": reason, "was_served": True}))
