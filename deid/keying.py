"""The de-identification key and everything derived from it.

One secret key makes every mapping deterministic: the same UID, patient and date offset
come out the same in every file, every batch and every run (for DICOM and for report
text alike), while without the key nothing maps back. Each use is domain-separated, so a
UID mapping can never be replayed as a pseudonym or an offset.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from qms.errors import QmsError

__all__ = ["DateShiftRange", "DeidKey", "MIN_KEY_BYTES", "UID_ROOT", "normalise_identifier"]

MIN_KEY_BYTES = 32
UID_ROOT = "2.25."  # PS3.5 §B.2: a UID derived from a 128-bit integer
_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud without mistakes


@dataclass(frozen=True)
class DateShiftRange:
    """Inclusive range of per-patient date offsets in days; zero is never used."""

    min_days: int = -3650
    max_days: int = -30

    def __post_init__(self) -> None:
        if self.min_days > self.max_days:
            raise QmsError(f"date shift range {self.min_days}..{self.max_days} is empty", hint="min_days <= max_days")
        if self.min_days == self.max_days == 0:
            raise QmsError("a date shift range of only 0 would leave dates unchanged", hint="use e.g. -3650..-30")


class DeidKey:
    """A secret of at least 32 bytes, read from a key file that is never in the repository."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise QmsError(f"the de-identification key has {len(secret)} bytes; at least {MIN_KEY_BYTES} are needed",
                           hint="create one with `qms deid keygen KEYFILE`")
        self._secret = secret

    @classmethod
    def load(cls, path: Path) -> DeidKey:
        """The key in `path`; refused inside a git work tree that does not ignore it, where a commit would take it."""
        from qms.home import refuse_committable

        refuse_committable(path, "the de-identification key (whoever holds it can re-identify the data)")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise QmsError(f"cannot read the key file: {exc.strerror}", where=str(path)) from exc
        text = data.strip()
        try:  # a hex key file (what keygen writes) and a raw binary one both work
            secret = bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            secret = data
        try:
            return cls(secret)
        except QmsError as exc:
            raise QmsError(exc.message, where=str(path), hint=exc.hint) from exc

    @staticmethod
    def generate(path: Path) -> None:
        """Write a new random key (hex, mode 0600); refuse to overwrite an existing one."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")

    @property
    def key_id(self) -> str:
        """A public identifier of the key (safe in manifests): which key, never the key."""
        return self.mac("key-id", "").hex()[:16]

    def mac(self, purpose: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        """The keyed replacement of a UID: `2.25.` and a 128-bit integer (at most 44 characters)."""
        return UID_ROOT + str(int.from_bytes(self.mac("uid", original.strip().rstrip("\x00"))[:16], "big"))

    def pseudonym(self, kind: str, value: str, length: int = 10) -> str:
        """A keyed, readable pseudonym for an identifier of `kind` (e.g. patient id)."""
        digest = int.from_bytes(self.mac(f"pseudonym:{kind}", normalise_identifier(value)), "big")
        chars = []
        for _ in range(length):
            digest, i = divmod(digest, len(_PSEUDONYM_ALPHABET))
            chars.append(_PSEUDONYM_ALPHABET[i])
        return "".join(chars)

    def date_offset_days(self, patient: str, shift: DateShiftRange = DateShiftRange()) -> int:
        """The patient's date offset: the same for every file and report of that patient, never 0."""
        includes_zero = shift.min_days <= 0 <= shift.max_days
        span = shift.max_days - shift.min_days + 1 - int(includes_zero)
        offset = shift.min_days + int.from_bytes(self.mac("date-offset", normalise_identifier(patient))[:8], "big") % span
        return offset + 1 if includes_zero and offset >= 0 else offset


def normalise_identifier(value: str) -> str:
    """Identifiers compare without surrounding space, DICOM padding, or case."""
    return value.strip().rstrip("\x00").strip().upper()
