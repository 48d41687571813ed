"""What a signature means and who may give it (21 CFR Part 11 §11.50(a)(3), §11.10(g))."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from qms.signing.errors import SigningError

__all__ = ["MAX_REASON", "Meaning", "Role", "SignatureMeaning"]

MAX_REASON = 200


class SignatureMeaning(str, Enum):
    """The coded meanings of §11.50(a)(3); any other meaning is a stated reason."""

    AUTHORED = "authored"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    STATED = "stated"


@dataclass(frozen=True)
class Meaning:
    """A signature's meaning: a coded one, or a stated reason in the signer's words."""

    kind: SignatureMeaning
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.kind is SignatureMeaning.STATED:
            if not self.reason or not self.reason.strip():
                raise SigningError("a stated signature meaning needs its reason", hint="e.g. --meaning 'verified the SOUP list'")
            if len(self.reason) > MAX_REASON or "\n" in self.reason:
                raise SigningError(f"the stated meaning must be one line of at most {MAX_REASON} characters",
                               where=self.reason[:40])
        elif self.reason is not None:
            raise SigningError(f"the meaning {self.kind.value!r} takes no stated reason")

    @classmethod
    def parse(cls, text: str) -> Meaning:
        """'authored', 'reviewed', 'approved', or any other text as a stated reason."""
        try:
            kind = SignatureMeaning(text.strip().lower())
        except ValueError:
            return cls(SignatureMeaning.STATED, text.strip())
        if kind is SignatureMeaning.STATED:
            raise SigningError("'stated' is not a meaning by itself", hint="write the reason itself as the meaning")
        return cls(kind)

    @property
    def text(self) -> str:
        """The words shown on the record: the coded meaning, or the stated reason."""
        return self.reason if self.reason is not None else self.kind.value

    @classmethod
    def of(cls, value: Meaning | SignatureMeaning | str) -> Meaning:
        if isinstance(value, Meaning):
            return value
        if isinstance(value, SignatureMeaning):
            return cls(value)
        return cls.parse(value)


class Role(str, Enum):
    """A user's role, which decides the meanings they may sign with (§11.10(g) authority checks)."""

    ENGINEER = "engineer"
    QUALITY = "quality"
    REGULATORY = "regulatory"
    SERVICE = "service"

    @property
    def allowed(self) -> frozenset[SignatureMeaning]:
        return _ALLOWED[self]

    def check(self, meaning: Meaning, user_id: str) -> None:
        """Refuse a meaning this role may not sign with; a service identity never approves (§11.100(a))."""
        if meaning.kind not in self.allowed:
            allowed = ", ".join(sorted(m.value for m in self.allowed))
            raise SigningError(f"user {user_id} (role {self.value}) may not sign with the meaning {meaning.text!r}",
                           where=f"user:{user_id}", hint=f"role {self.value} may sign: {allowed}")


_ALLOWED: dict[Role, frozenset[SignatureMeaning]] = {
    Role.ENGINEER: frozenset({SignatureMeaning.AUTHORED, SignatureMeaning.REVIEWED, SignatureMeaning.STATED}),
    Role.QUALITY: frozenset(SignatureMeaning),
    Role.REGULATORY: frozenset({SignatureMeaning.REVIEWED, SignatureMeaning.APPROVED, SignatureMeaning.STATED}),
    Role.SERVICE: frozenset({SignatureMeaning.AUTHORED, SignatureMeaning.STATED}),
}
