"""The tool-validation record: qmskit qualified (IQ/OQ) in one environment, signed by who ran it.

ISO 13485 §4.1.6 and 21 CFR 11.10(a) ask that software used in the quality system is
validated for its use. `qms selftest` writes one `ToolValidation` per run; a release plan
with `tool_validation: required` makes the gate demand a passing, signed record for the
environment the gate runs in. The environment is identified by its fingerprint: qmskit's
version, the Python version and platform, and every installed distribution's version, so
an upgrade of qmskit or of any dependency makes the record stale.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
import sys
from dataclasses import dataclass
from typing import Any

from sqlmodel import Field, col, select

from qms.audit import EventSpec, append, state_digest
from qms.hashing import digest_of, sha256_hex
from qms.store import Record, Store

__all__ = ["DISTRIBUTION", "Environment", "ToolValidation", "current_environment", "latest_validations",
           "normalise_name", "record_validation"]

DISTRIBUTION = "qmskit"


@dataclass(frozen=True)
class Environment:
    """What a tool validation holds for: qmskit's version, Python, the platform, every installed distribution."""

    qmskit: str
    python: str
    platform: str
    packages: dict[str, str]

    @property
    def packages_digest(self) -> str:
        return digest_of(dict(sorted(self.packages.items())))

    @property
    def fingerprint(self) -> str:
        return digest_of({"qmskit": self.qmskit, "python": self.python, "platform": self.platform,
                          "packages": self.packages_digest})

    def changes_since(self, other: Environment) -> list[str]:
        """What differs from `other` (an earlier environment), in words: the reasons a record went stale."""
        out = [f"{what} {then} -> {now}" for what, then, now in (
            ("qmskit", other.qmskit, self.qmskit), ("python", other.python, self.python),
            ("platform", other.platform, self.platform)) if then != now]
        for name in sorted(set(self.packages) | set(other.packages)):
            then, now = other.packages.get(name, "absent"), self.packages.get(name, "absent")
            if then != now:
                out.append(f"{name} {then} -> {now}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"qmskit": self.qmskit, "python": self.python, "platform": self.platform,
                "packages_digest": self.packages_digest, "fingerprint": self.fingerprint,
                "packages": dict(sorted(self.packages.items()))}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Environment:
        return cls(str(data["qmskit"]), str(data["python"]), str(data["platform"]),
                   {str(k): str(v) for k, v in dict(data["packages"]).items()})


def normalise_name(name: str) -> str:
    """A distribution name in its PEP 503 normal form (`Beta_Pkg` and `beta.pkg` are `beta-pkg`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def current_environment() -> Environment:
    """The environment this process runs in: every distribution importlib.metadata sees, by normal name."""
    packages: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages[normalise_name(name)] = dist.version
    return Environment(packages.get(DISTRIBUTION, "not installed"),
                       f"{sys.version.split()[0]} ({platform.python_implementation()})", platform.platform(), packages)


class ToolValidation(Record, table=True):
    """One `qms selftest` run: for which environment, its outcome, and the signed report's digest."""

    __tablename__ = "tool_validation"

    qmskit_version: str = Field(nullable=False, max_length=64)
    fingerprint: str = Field(nullable=False, max_length=64, index=True)
    environment: str = Field(nullable=False, description="Environment.to_json(), canonical JSON")
    passed: bool = Field(nullable=False)
    checks: str = Field(nullable=False, description="each check: id, phase, verifies, passed (JSON)")
    report_sha256: str = Field(nullable=False, max_length=64, description="the signed PDF/A report")
    signature_id: str = Field(nullable=False, max_length=32, description="its SignatureRecord")
    actor: str = Field(nullable=False, max_length=200)

    @property
    def environment_of(self) -> Environment:
        return Environment.from_json(json.loads(self.environment))


def record_validation(store: Store, env: Environment, passed: bool, checks: list[dict[str, Any]], report_sha256: str,
                      signature_id: str, actor: str) -> ToolValidation:
    """Store one tool validation with its audit event, in one transaction."""
    rec = ToolValidation(qmskit_version=env.qmskit, fingerprint=env.fingerprint,
                         environment=json.dumps(env.to_json(), sort_keys=True), passed=passed,
                         checks=json.dumps(checks, sort_keys=True), report_sha256=report_sha256,
                         signature_id=signature_id, actor=actor)
    with store.transaction() as session:
        session.add(rec)
        session.flush()
        append(session, EventSpec(actor, "tool.validate", f"qmskit@{env.qmskit}", after=state_digest(rec.checks),
                                  details={"record": rec.id, "fingerprint": env.fingerprint, "passed": passed,
                                           "report_sha256": report_sha256, "signature": signature_id,
                                           "environment_sha256": sha256_hex(rec.environment.encode())}))
    return rec


def latest_validations(store: Store) -> list[ToolValidation]:
    """Every tool validation, newest first."""
    with store.reader() as session:
        return list(session.exec(select(ToolValidation).order_by(col(ToolValidation.created_at).desc())))
