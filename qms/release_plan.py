"""The release plan: which model version, protocols, signatures and threshold a release needs.

A YAML file in the device project (default `release-plan.yaml`, or `[tool.qms.release] plan`).
It is read before the gate runs; a malformed plan is a usage error naming the file and key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from qms.anomalies import AnomalySeverity  # the threshold is the anomaly register's vocabulary
from qms.config import Project, ProjectKind, SafetyClass
from qms.documents.catalogue import DocumentKind
from qms.errors import ConfigError
from qms.signing.meaning import SignatureMeaning
from qms.signing.roster import DEFAULT_ROSTER
from qms.yamlfile import load

__all__ = ["DEFAULT_PLAN", "Duties", "ROLES", "ROLE_ORDER", "ReleasePlan", "load_plan", "plan_path", "shared_duties"]

DEFAULT_PLAN = "release-plan.yaml"
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$")


ROLES = {SignatureMeaning.AUTHORED: "author", SignatureMeaning.REVIEWED: "reviewer", SignatureMeaning.APPROVED: "approver"}
"""The roles a release collects, in the order they must sign (21 CFR 11.10(f) sequencing)."""
ROLE_ORDER = tuple(ROLES)


class Duties(StrEnum):
    """Separation of duties for a safety class: distinct people in author, reviewer, approver, or shared."""

    DISTINCT = "distinct"
    SHARED = "shared"


def shared_duties(holders: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """Each person who holds more than one of the roles in `holders` (role -> user ids), with those roles."""
    roles_of: dict[str, set[str]] = {}
    for role, users in holders.items():
        for user in users:
            roles_of.setdefault(user, set()).add(role)
    order = list(ROLES.values())
    return {u: tuple(sorted(r, key=lambda x: order.index(x) if x in order else len(order)))
            for u, r in sorted(roles_of.items()) if len(r) > 1}


@dataclass(frozen=True)
class ReleasePlan:
    """A validated release plan: constructed only through `load_plan` or with valid values."""

    source: str
    version: str
    model: str | None  # NAME@VERSION; None only in a tool project (`kind = "tool"`), whose plan names no model
    protocols: tuple[str, ...]
    signers: dict[str, tuple[str, ...]]
    anomaly_threshold: str
    soup_file: str
    anomaly_file: str
    references: dict[str, str]
    safety_class: str = "C"
    duties: dict[str, Duties] = field(default_factory=dict)
    roster_file: str = DEFAULT_ROSTER
    tool_validation: bool = False  # `tool_validation: required`: a current signed `qms selftest` record (qms.tool_validation)
    kind: ProjectKind = ProjectKind.DEVICE
    reference_where: dict[str, str] = field(default_factory=dict)  # deliverable number -> file:line of its entry

    def __post_init__(self) -> None:
        if not _VERSION.match(self.version):
            raise ConfigError(f"release version {self.version!r} is not a version string", where=self.source)
        _check_model(self.kind, self.model, self.protocols, self.source)
        if self.model is not None and ("@" not in self.model or self.model.startswith("@") or self.model.endswith("@")):
            raise ConfigError(f"model {self.model!r} must be NAME@VERSION", where=f"{self.source}: model")
        missing = [ROLES[m] for m in ROLE_ORDER if not self.signers.get(ROLES[m])]
        if missing:
            raise ConfigError(f"no signer named for role(s) {', '.join(missing)}", where=f"{self.source}: signatures",
                              hint="list the user ids allowed to sign as author, reviewer and approver")

    @property
    def model_ref(self) -> str:
        """The model version the release ships; a tool project's plan has none, and asking for it is an error."""
        if self.model is None:
            raise ConfigError("a tool project's release plan names no model", where=f"{self.source}: model",
                              hint='model releases and model criteria need kind = "device" in [tool.qms]')
        return self.model

    @property
    def model_name(self) -> str:
        return self.model_ref.rsplit("@", 1)[0]

    @property
    def model_version(self) -> str:
        return self.model_ref.rsplit("@", 1)[1]

    def allowed(self, meaning: SignatureMeaning) -> tuple[str, ...]:
        return self.signers[ROLES[meaning]]

    @property
    def distinct_people(self) -> bool:
        """Whether author, reviewer and approver must be distinct people: by default yes, in every safety class."""
        return self.duties.get(self.safety_class, Duties.DISTINCT) is Duties.DISTINCT

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "model": self.model, "protocols": list(self.protocols),
                "signatures": {k: list(v) for k, v in sorted(self.signers.items())},
                "anomaly_threshold": self.anomaly_threshold, "soup_file": self.soup_file,
                "anomaly_file": self.anomaly_file, "references": dict(sorted(self.references.items())),
                "safety_class": self.safety_class, "distinct_people": self.distinct_people, "roster": self.roster_file,
                "separation_of_duties": {c: d.value for c, d in sorted(self.duties.items())},
                **({"tool_validation": "required"} if self.tool_validation else {}), "kind": self.kind.value,
                "documents": [kind.value for kind in DocumentKind]}  # every document `qms release` renders and signs


def _check_model(kind: ProjectKind, model: str | None, protocols: tuple[str, ...], source: str) -> None:
    """A device plan names its model; a tool plan names neither model nor protocols, so none is silently ignored."""
    if kind is ProjectKind.DEVICE and model is None:
        raise ConfigError("missing required key 'model'", where=source,
                          hint="name the model version the release ships (model: NAME@VERSION)")
    if kind is ProjectKind.TOOL and (model is not None or protocols):
        key = "model" if model is not None else "protocols"
        raise ConfigError(f"a tool project's release plan names no {key}: the gate judges no model or protocol for "
                          "a tool", where=f"{source}: {key}",
                          hint=f'remove {key}, or set kind = "device" in [tool.qms] if the project releases a model')


def plan_path(project: Project) -> Path:
    return project.path(str(project.config.release.get("plan", DEFAULT_PLAN)))


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{what} must be a list of non-empty strings", where=where)
    return tuple(value)


_KEYS = {"version", "model", "protocols", "signatures", "anomaly_threshold", "soup_file", "anomaly_file", "references",
         "separation_of_duties", "roster", "tool_validation"}


def _duties(value: Any, where: str) -> dict[str, Duties]:
    """`separation_of_duties`: safety class (A, B, C) -> distinct | shared."""
    if value is None:
        return {}
    try:
        if not isinstance(value, dict):
            raise ValueError
        return {SafetyClass(str(k).upper()).value: Duties(str(v)) for k, v in value.items()}
    except ValueError:
        raise ConfigError("separation_of_duties must map a safety class (A, B, C) to distinct or shared", where=where,
                          hint="e.g. separation_of_duties: {A: shared}; every class not named is distinct") from None


def _required(value: Any, where: str) -> bool:
    if value not in ("required", "optional"):
        raise ConfigError(f"tool_validation {value!r} is not required or optional", where=where,
                          hint="tool_validation: required makes the gate demand a current signed `qms selftest` record")
    return bool(value == "required")


def _source_text(path: Path, where: str, value: Any) -> str:
    """The value as the user typed it on its line (`1.10`, not the number 1.1), for the hint to quote it."""
    try:
        line = path.read_text(encoding="utf-8").splitlines()[int(where.rsplit(":", 1)[1]) - 1]
        typed = line.split(":", 1)[1].split("#", 1)[0].strip()
    except (OSError, ValueError, IndexError):
        return str(value)
    return typed or str(value)


_MISSING_HINT = {
    "version": 'name the release\'s version as text (version: "1.0.0")',
    "model": 'name the model version the release ships (model: NAME@VERSION, see `qms model list`), '
             'or set kind = "tool" in [tool.qms] if the project releases no model',
    "signatures": "map each role to the user ids who may sign in it (signatures: {author: [...], reviewer: [...], "
                  "approver: [...]})",
}


def load_plan(project: Project) -> ReleasePlan:
    """Read and validate the project's release plan."""
    path = plan_path(project)
    if not path.is_file():
        raise ConfigError("no release plan", where=str(path),
                          hint=f"write {path.name} naming version, model, protocols and signatures")
    doc = load(path)
    data = doc.data
    if not isinstance(data, dict):
        raise ConfigError("the release plan must be a mapping", where=str(path))
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)}", where=doc.where((unknown[0],)),
                          hint=f"allowed: {', '.join(sorted(_KEYS))}")
    kind = project.config.kind
    for key in ("version", "signatures") if kind is ProjectKind.TOOL else ("version", "model", "signatures"):
        if key not in data:
            raise ConfigError(f"missing required key {key!r}", where=str(path), hint=_MISSING_HINT[key])
    version = data["version"]
    if not isinstance(version, str):
        # YAML reads `version: 1.10` as the number 1.1: a release version is text, so a number is refused, never
        # silently changed (the bundle, the signatures and the audit trail would name another version)
        raise ConfigError(f"version {version!r} is a number, not text: YAML reads an unquoted version as a number "
                          "and may change it", where=doc.where(("version",)),
                          hint=f'quote it: version: "{_source_text(path, doc.where(("version",)), version)}"')
    signatures = data["signatures"]
    if not isinstance(signatures, dict):
        raise ConfigError("signatures must map role -> list of user ids", where=doc.where(("signatures",)))
    roles = set(ROLES.values())
    bad = sorted(set(signatures) - roles)
    if bad:
        raise ConfigError(f"unknown role(s) {', '.join(bad)}", where=doc.where(("signatures", bad[0])),
                          hint="roles: author, reviewer, approver")
    threshold = str(data.get("anomaly_threshold", AnomalySeverity.MINOR.value))
    if threshold not in {s.value for s in AnomalySeverity}:
        raise ConfigError(f"anomaly_threshold {threshold!r} is not a severity", where=doc.where(("anomaly_threshold",)),
                          hint=f"one of {', '.join(s.value for s in AnomalySeverity)}")
    references = data.get("references") or {}
    if not isinstance(references, dict) or not all(isinstance(v, str) for v in references.values()):
        raise ConfigError("references must map deliverable number -> project file", where=doc.where(("references",)))
    return ReleasePlan(
        source=str(path), version=version, model=None if data.get("model") is None else str(data["model"]),
        protocols=_strings(data.get("protocols", []), "protocols", doc.where(("protocols",))),
        signers={r: _strings(v, f"signatures.{r}", doc.where(("signatures", r))) for r, v in signatures.items()},
        anomaly_threshold=threshold,
        soup_file=str(data.get("soup_file", "soup.yaml")),
        anomaly_file=str(data.get("anomaly_file", f"{project.config.design_dir}/anomalies.yaml")),
        references={str(k): v for k, v in references.items()},
        safety_class=project.config.safety_class.value,
        duties=_duties(data.get("separation_of_duties"), doc.where(("separation_of_duties",))),
        roster_file=str(data.get("roster", DEFAULT_ROSTER)),
        tool_validation=_required(data.get("tool_validation", "optional"), doc.where(("tool_validation",))),
        kind=kind,
        reference_where={str(k): doc.where(("references", k)) for k in references},
    )
