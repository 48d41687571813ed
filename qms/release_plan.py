"""The release plan: which model version, protocols, signatures and threshold a release needs.

A YAML file in the device project (default `release-plan.yaml`, or `[tool.qms.release] plan`).
It is read before the gate runs; a malformed plan is a usage error naming the file and key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qms.anomalies import AnomalySeverity  # the threshold is the anomaly register's vocabulary
from qms.config import Project
from qms.errors import ConfigError
from qms.signing.meaning import SignatureMeaning
from qms.yamlfile import load

__all__ = ["DEFAULT_PLAN", "ROLES", "ROLE_ORDER", "ReleasePlan", "load_plan", "plan_path"]

DEFAULT_PLAN = "release-plan.yaml"
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]*$")


ROLES = {SignatureMeaning.AUTHORED: "author", SignatureMeaning.REVIEWED: "reviewer", SignatureMeaning.APPROVED: "approver"}
"""The roles a release collects, in the order they must sign (21 CFR 11.10(f) sequencing)."""
ROLE_ORDER = tuple(ROLES)


@dataclass(frozen=True)
class ReleasePlan:
    """A validated release plan: constructed only through `load_plan` or with valid values."""

    source: str
    version: str
    model: str
    protocols: tuple[str, ...]
    signers: dict[str, tuple[str, ...]]
    anomaly_threshold: str
    soup_file: str
    anomaly_file: str
    references: dict[str, str]

    def __post_init__(self) -> None:
        if not _VERSION.match(self.version):
            raise ConfigError(f"release version {self.version!r} is not a version string", where=self.source)
        if "@" not in self.model or self.model.startswith("@") or self.model.endswith("@"):
            raise ConfigError(f"model {self.model!r} must be NAME@VERSION", where=f"{self.source}: model")
        missing = [ROLES[m] for m in ROLE_ORDER if not self.signers.get(ROLES[m])]
        if missing:
            raise ConfigError(f"no signer named for role(s) {', '.join(missing)}", where=f"{self.source}: signatures",
                              hint="list the user ids allowed to sign as author, reviewer and approver")

    @property
    def model_name(self) -> str:
        return self.model.rsplit("@", 1)[0]

    @property
    def model_version(self) -> str:
        return self.model.rsplit("@", 1)[1]

    def allowed(self, meaning: SignatureMeaning) -> tuple[str, ...]:
        return self.signers[ROLES[meaning]]

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "model": self.model, "protocols": list(self.protocols),
                "signatures": {k: list(v) for k, v in sorted(self.signers.items())},
                "anomaly_threshold": self.anomaly_threshold, "soup_file": self.soup_file,
                "anomaly_file": self.anomaly_file, "references": dict(sorted(self.references.items()))}


def plan_path(project: Project) -> Path:
    return project.path(str(project.config.release.get("plan", DEFAULT_PLAN)))


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{what} must be a list of non-empty strings", where=where)
    return tuple(value)


_KEYS = {"version", "model", "protocols", "signatures", "anomaly_threshold", "soup_file", "anomaly_file", "references"}


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
    for key in ("version", "model", "signatures"):
        if key not in data:
            raise ConfigError(f"missing required key {key!r}", where=str(path))
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
        source=str(path), version=str(data["version"]), model=str(data["model"]),
        protocols=_strings(data.get("protocols", []), "protocols", doc.where(("protocols",))),
        signers={r: _strings(v, f"signatures.{r}", doc.where(("signatures", r))) for r, v in signatures.items()},
        anomaly_threshold=threshold,
        soup_file=str(data.get("soup_file", "soup.yaml")),
        anomaly_file=str(data.get("anomaly_file", f"{project.config.design_dir}/anomalies.yaml")),
        references={str(k): v for k, v in references.items()},
    )
