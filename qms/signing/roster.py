"""The signing roster: who may sign which document, in which role and meaning (21 CFR 11.10(g)).

A roster is a record of its own, approved by a quality-role identity (`qms.signing.authority`);
the release plan only chooses among the identities the roster allows. Each identity is a
person or a service: a service (a CI pipeline) may author or seal, never review, approve
or approve a roster (§11.100(a): a signature of judgement is a person's).

The file (YAML, default `signing-roster.yaml`):

    identities:
      ada.author:   {kind: person,  roles: [author]}
      rui.reviewer: {kind: person,  roles: [reviewer, quality], documents: ["*"]}
      ci.release:   {kind: service, roles: [seal]}

`documents` are shell patterns over document names (`validation-report`, ...); "*" when absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from qms.config import did_you_mean
from qms.hashing import canonical_json, sha256_hex
from qms.signing.errors import SigningError
from qms.signing.identity import check_user_id
from qms.signing.meaning import SignatureMeaning
from qms.yamlfile import Located, load

__all__ = ["DEFAULT_ROSTER", "Duty", "ENTRY_KEYS", "IdentityKind", "MEANING_OF", "ROSTER_KEYS", "ROSTER_KIND", "Roster",
           "RosterEntry", "load_roster"]

DEFAULT_ROSTER = "signing-roster.yaml"
ROSTER_KIND = "qms-signing-roster/v1"
ROSTER_KEYS = ("identities", "kind")
"""The keys a roster holds (`kind`, optional, names the format); any other is refused, as the schema refuses it."""
ENTRY_KEYS = ("kind", "roles", "documents")


class IdentityKind(StrEnum):
    PERSON = "person"
    SERVICE = "service"


class Duty(StrEnum):
    """What an identity may do: sign a release in a role, approve a roster (quality), seal a bundle."""

    AUTHOR = "author"
    REVIEWER = "reviewer"
    APPROVER = "approver"
    QUALITY = "quality"
    SEAL = "seal"


MEANING_OF = {Duty.AUTHOR: SignatureMeaning.AUTHORED, Duty.REVIEWER: SignatureMeaning.REVIEWED,
              Duty.APPROVER: SignatureMeaning.APPROVED, Duty.QUALITY: SignatureMeaning.APPROVED}
"""The meaning each signing duty signs with (a seal's meaning is the sealer's own)."""
_PERSON_ONLY = frozenset({Duty.REVIEWER, Duty.APPROVER, Duty.QUALITY})


@dataclass(frozen=True)
class RosterEntry:
    """One identity's duties; a service holding a person-only duty cannot exist."""

    user_id: str
    kind: IdentityKind
    duties: frozenset[Duty]
    documents: tuple[str, ...] = ("*",)

    def __post_init__(self) -> None:
        check_user_id(self.user_id)
        if not self.duties:
            raise SigningError(f"{self.user_id} holds no duty", where=f"roster:{self.user_id}")
        judged = sorted(self.duties & _PERSON_ONLY)
        if self.kind is IdentityKind.SERVICE and judged:
            raise SigningError(f"{self.user_id} is a service identity: it may not hold {', '.join(judged)}",
                               where=f"roster:{self.user_id}", hint="a service may author or seal; people review and approve")
        if not self.documents:
            raise SigningError(f"{self.user_id} may sign no document", where=f"roster:{self.user_id}")

    def may(self, duty: Duty, document: str | None = None) -> bool:
        """Whether this identity may do `duty` on `document` (on some document when None)."""
        return duty in self.duties and (document is None or any(fnmatchcase(document, p) for p in self.documents))

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "roles": sorted(d.value for d in self.duties), "documents": list(self.documents)}


@dataclass(frozen=True)
class Roster:
    """Every identity allowed to sign and what each may do; `digest` names this exact content."""

    identities: Mapping[str, RosterEntry]
    source: str = "signing roster"

    def to_json(self) -> dict[str, Any]:
        return {"kind": ROSTER_KIND, "identities": {u: e.to_json() for u, e in sorted(self.identities.items())}}

    def canonical(self) -> bytes:
        """The bytes an approval signs and a bundle carries: canonical JSON, the same on every machine."""
        return canonical_json(self.to_json())

    @property
    def digest(self) -> str:
        return sha256_hex(self.canonical())

    def holders(self, duty: Duty) -> tuple[str, ...]:
        return tuple(sorted(u for u, e in self.identities.items() if duty in e.duties))

    def problem(self, user_id: str | None, duty: Duty, document: str | None = None) -> str | None:
        """Why `user_id` may not do `duty` on `document` under this roster, or None when they may."""
        entry = self.identities.get(user_id or "")
        if entry is None:
            return f"{user_id} is not on the approved signing roster"
        if not entry.may(duty, document):
            return (f"{user_id} may not sign {document or 'any document'} as {duty.value} "
                    f"(roster: {', '.join(sorted(entry.duties))}; documents: {', '.join(entry.documents)})")
        return None

    @classmethod
    def from_json(cls, data: Any, where: str, located: Located | None = None) -> Roster:
        """Parse a roster (a bundle's, or a file's plain values); anything malformed is a SigningError at `where`."""
        unknown = sorted(set(data) - set(ROSTER_KEYS), key=str) if isinstance(data, dict) else []
        if unknown:
            raise SigningError(f"unknown key {unknown[0]!r} in the signing roster",
                               where=located.where((unknown[0],)) if located is not None else where,
                               hint=f"{did_you_mean(str(unknown[0]), ROSTER_KEYS)}a roster holds "
                                    f"{', '.join(ROSTER_KEYS)} (docs/reference/signing-roster.md)")
        if not isinstance(data, dict) or not isinstance(data.get("identities"), dict):
            raise SigningError("a signing roster maps `identities` to their kind and roles", where=where)
        if data.get("kind", ROSTER_KIND) != ROSTER_KIND:
            raise SigningError(f"not a {ROSTER_KIND} document", where=where)
        entries = {}
        for user_id, spec in data["identities"].items():
            at = located.where(("identities", user_id)) if located is not None else f"{where}: {user_id}"
            if not isinstance(spec, dict) or set(spec) - set(ENTRY_KEYS):
                extra = sorted(set(spec) - set(ENTRY_KEYS), key=str) if isinstance(spec, dict) else []
                raise SigningError(f"{user_id}: give kind, roles and optionally documents"
                                   + (f" (unknown key {extra[0]!r})" if extra else ""),
                                   where=located.where(("identities", user_id, extra[0])) if located and extra else at,
                                   hint=did_you_mean(str(extra[0]), ENTRY_KEYS).strip() or None if extra else None)
            try:
                kind = IdentityKind(str(spec.get("kind")))
                duties = frozenset(Duty(r) for r in _strings(spec.get("roles")))
                docs = _strings(spec.get("documents", ["*"]))
            except (ValueError, TypeError) as exc:
                key, bad, allowed = _bad_value(spec)
                raise SigningError(f"{user_id}: {key} {bad!r} is not allowed: kind is person or service; roles are "
                                   f"{', '.join(d.value for d in Duty)}; documents a list of patterns",
                                   where=located.where(("identities", user_id, key)) if located is not None else at,
                                   hint=did_you_mean(str(bad), allowed).strip() or None) from exc
            entries[str(user_id)] = RosterEntry(str(user_id), kind, duties, docs)
        if not entries:
            raise SigningError("the signing roster names no identity", where=where)
        return cls(entries, where)


def _bad_value(spec: Mapping[str, Any]) -> tuple[str, Any, tuple[str, ...]]:
    """Which key of a roster entry holds the value that is not allowed, that value, and the values allowed there."""
    kinds = tuple(k.value for k in IdentityKind)
    if str(spec.get("kind")) not in kinds:
        return "kind", spec.get("kind"), kinds
    roles = spec.get("roles")
    duties = tuple(d.value for d in Duty)
    if isinstance(roles, list):
        bad = next((r for r in roles if r not in duties), None)
        if bad is not None:
            return "roles", bad, duties
    else:
        return "roles", roles, duties
    return "documents", spec.get("documents"), ()


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TypeError("expected a list of strings")
    return tuple(value)


def load_roster(path: Path) -> Roster:
    """Read a roster file (YAML through `qms.yamlfile`, so errors name file:line)."""
    if not path.is_file():
        raise SigningError("no signing roster", where=str(path),
                           hint="write it (identities: user id -> kind, roles) and have a quality identity approve it: "
                                "`qms roster approve`")
    doc = load(path)
    return Roster.from_json(doc.data, str(path), doc)
