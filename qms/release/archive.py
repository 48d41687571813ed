"""Reading a bundle zip without trusting it: the layout checked first, then each member streamed once.

`qms.release.ziplayout` accepts one layout only and caps what each member may claim; here
member data is read in chunks, inflated at most a chunk at a time, hashed (sha256) and
CRC-checked as it goes, and stopped as soon as it passes its declared size: nothing is
inflated whole, so a zip bomb costs a chunk of memory. Only the members the caller keeps
(small JSON, PDFs; capped) are held whole. Every refusal is a `Finding` naming the member.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from qms.findings import Finding
from qms.release.names import shown
from qms.release.ziplayout import DEFLATED, Limits, Member, MiB, read_layout, refusal

__all__ = ["Contents", "Limits", "Member", "read_contents"]

_CHUNK = MiB


@dataclass
class Contents:
    """What a reading found: every member's sha256, the bytes of those asked for, and every refusal."""

    members: list[Member] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def refuse(self, check: str, where: str, reason: str) -> None:
        self.findings.append(refusal(check, where, reason))


class _Refused(Exception):
    """A member stops being read: `reason` is the finding's."""


def _digest(f: BinaryIO, m: Member, keep: bool, limits: Limits, out: Contents) -> None:
    """Stream one member once: its sha256 always, its bytes too when `keep` and small enough."""
    if keep and m.size > limits.in_memory:
        out.refuse("member", shown(m.name), f"{m.size} bytes: over the {limits.in_memory}-byte limit for a member read whole")
    parts: list[bytes] | None = [] if keep and m.size <= limits.in_memory else None
    h = hashlib.sha256()
    try:
        for piece in _chunks(f, m):
            h.update(piece)
            if parts is not None:
                parts.append(piece)
    except (_Refused, zlib.error) as exc:
        reason = str(exc) if isinstance(exc, _Refused) else "its deflate data is corrupt"
        out.refuse("member", shown(m.name), reason)
        return
    out.sha256[m.name] = h.hexdigest()
    if parts is not None:
        out.data[m.name] = b"".join(parts)


def _chunks(f: BinaryIO, m: Member) -> Iterator[bytes]:
    """The member's uncompressed bytes, a chunk at a time, stopped as soon as they pass the declared size."""
    f.seek(m.data_offset)
    inflater = zlib.decompressobj(-15) if m.method == DEFLATED else None
    left, made, crc = m.compressed_size, 0, 0
    while left:
        raw = f.read(min(_CHUNK, left))
        if not raw or inflater is not None and inflater.eof:
            raise _Refused("its data is cut short or does not end where its deflate stream does")
        left -= len(raw)
        for piece in _inflated(inflater, raw) if inflater is not None else (raw,):
            made += len(piece)
            if made > m.size:
                raise _Refused(f"it inflates past its declared {m.size} bytes (a zip bomb)")
            crc = zlib.crc32(piece, crc)
            yield piece
    if inflater is not None and (not inflater.eof or inflater.unused_data):
        raise _Refused("its deflate stream does not end where the member does")
    if made != m.size or crc != m.crc:
        raise _Refused("its bytes do not match the directory's size and CRC-32: damaged or altered")


def _inflated(inflater: zlib._Decompress, data: bytes) -> Iterator[bytes]:
    """Inflate `data` in pieces of at most one chunk, so no member is ever expanded whole."""
    while True:
        piece = inflater.decompress(data, _CHUNK)
        if piece:
            yield piece
        data = inflater.unconsumed_tail
        if not data and len(piece) < _CHUNK:
            return


def read_contents(path: Path, keep: Callable[[str], bool], limits: Limits = Limits()) -> Contents:
    """Check the bundle's layout and names, then stream each member once: its sha256, and the bytes of those kept."""
    out = Contents()
    try:
        with path.open("rb") as f:
            members, out.findings = read_layout(f, path.name, limits)
            if members is None:
                return out
            out.members = members
            for m in members:
                _digest(f, m, keep(m.name), limits, out)
    except OSError as exc:
        out.findings.append(refusal("layout", path.name, f"the bundle cannot be read: {exc.strerror or exc}", "check the path"))
    return out
