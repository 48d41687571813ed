"""The zip layout of a bundle, checked before a byte of member data is trusted.

A zip describes each member twice, in a local header before its data and in the central
directory at the end, and readers differ in which they believe, where they look for the end
record and whether they tolerate bytes around the archive: a crafted file can show the
verifier one member and a user's unzip another. So one layout only is accepted, the one every
careful writer produces: members back to back from byte 0, the central directory right after
them, the end record last, both descriptions of each member the same, names canonical
(`qms.release.names`), stored or deflated, unencrypted, and within the caps of `Limits`.
The steps are numbered as the checks run. Every refusal is a `Finding`, never an exception.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import BinaryIO

from qms.findings import Finding
from qms.release.names import clashes, name_problem, shown

__all__ = ["DEFLATED", "GiB", "Limits", "Member", "MiB", "read_layout", "refusal"]

MiB = 1 << 20
GiB = 1 << 30
_STORED, DEFLATED = 0, 8
_ENCRYPTED = 0x0001 | 0x0040 | 0x2000  # traditional, strong, central-directory encryption
_DESCRIPTOR, _UTF8 = 0x0008, 0x0800
_ZIP64_TAG, _UNICODE_PATH_TAG = 0x0001, 0x7075
_FULL16, _FULL32 = 0xFFFF, 0xFFFFFFFF
_END = struct.Struct("<4s4H2LH")  # end of central directory record
_LOCATOR = struct.Struct("<4sLQL")  # zip64 end record locator
_END64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory record
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_SIG_END, _SIG_LOCATOR, _SIG_END64 = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"
_SIG_CENTRAL, _SIG_LOCAL, _SIG_DESCRIPTOR = b"PK\x01\x02", b"PK\x03\x04", b"PK\x07\x08"
_ALTERED = "the bundle was altered or not written by qmskit; obtain the bundle again from its source"


def refusal(check: str, where: str, reason: str, hint: str = _ALTERED) -> Finding:
    """A finding of the bundle's `check`, whose `where` is the member's name (or the bundle's, with an offset)."""
    return Finding(f"bundle.{check}", where, reason, hint, where=where)


@dataclass(frozen=True)
class Limits:
    """What a bundle may make its verifier read; the defaults are far above any real release."""

    member_size: int = 16 * GiB  # uncompressed bytes of one member
    total_size: int = 64 * GiB  # uncompressed bytes of all members
    ratio: int = 100  # uncompressed / compressed size, checked for members ...
    ratio_from: int = MiB  # ... of more than this many uncompressed bytes
    members: int = 10_000
    in_memory: int = 64 * MiB  # the largest member read whole (JSON, PDF)
    directory: int = 64 * MiB  # the largest central directory


@dataclass(frozen=True)
class Member:
    """One member as both its descriptions agree it is; `data_offset` is where its stored bytes start."""

    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    offset: int
    data_offset: int = 0


def _extras(blob: bytes) -> dict[int, bytes] | None:
    """The extra fields by tag; None when they do not parse or a tag repeats."""
    out: dict[int, bytes] = {}
    at = 0
    while at < len(blob):
        if at + 4 > len(blob):
            return None
        tag, size = struct.unpack_from("<2H", blob, at)
        if at + 4 + size > len(blob) or tag in out:
            return None
        out[tag] = blob[at + 4: at + 4 + size]
        at += 4 + size
    return out


def _widen(values: list[int], extras: dict[int, bytes]) -> list[int] | None:
    """Replace each 32-bit field saturated at 0xFFFFFFFF by the zip64 field's 64-bit value, in order."""
    wide = extras.get(_ZIP64_TAG, b"")
    need = sum(v == _FULL32 for v in values)
    if len(wide) < 8 * need:
        return None
    taken = iter(struct.unpack_from(f"<{need}Q", wide)) if need else iter(())
    return [next(taken) if v == _FULL32 else v for v in values]


class _Layout:
    """One pass over the headers of one open zip; each thing it refuses becomes a finding."""

    def __init__(self, f: BinaryIO, where: str, limits: Limits) -> None:
        self.f, self.where, self.limits = f, where, limits
        self.size = f.seek(0, 2)
        self.findings: list[Finding] = []

    def refuse(self, check: str, where: str, reason: str, hint: str = _ALTERED) -> None:
        self.findings.append(refusal(check, where, reason, hint))

    def _at(self, offset: int) -> str:
        return f"{self.where}@{offset}"

    def members(self) -> list[Member] | None:
        """Steps 1-3, or None once one fails (later steps would read bytes an earlier one distrusts)."""
        found = self._end()
        if found is None:
            return None
        members = self._central(*found)
        return None if members is None or self.findings else self._locals(members, found[1])

    def _end(self) -> tuple[int, int, int] | None:
        """Step 1: the end record is the last thing in the file and says where the central directory is."""
        tail_len = min(self.size, _END.size + _FULL16 + _LOCATOR.size)
        self.f.seek(self.size - tail_len)
        tail = self.f.read(tail_len)
        pos = tail.rfind(_SIG_END, 0, max(0, len(tail) - _END.size + len(_SIG_END)))
        if pos < 0:
            self.refuse("layout", self.where, "not a zip: no end-of-central-directory record", "check the file given")
            return None
        at = self.size - tail_len + pos
        _, disk, cd_disk, on_disk, entries, cd_size, cd_offset, comment = _END.unpack_from(tail, pos)
        if comment or at + _END.size != self.size:
            self.refuse("layout", self._at(at), f"{self.size - at - _END.size} bytes follow the end record "
                            "(appended data or a zip comment)")
            return None
        cd_end = at
        if _FULL16 in (entries, on_disk) or _FULL32 in (cd_size, cd_offset):
            loc = tail[pos - _LOCATOR.size: pos] if pos >= _LOCATOR.size else b""
            if len(loc) != _LOCATOR.size or loc[:4] != _SIG_LOCATOR:
                self.refuse("layout", self._at(at), "the end record needs a zip64 end record, and none is located")
                return None
            cd_end = _LOCATOR.unpack(loc)[2]
            self.f.seek(cd_end)
            raw = self.f.read(_END64.size)
            if len(raw) != _END64.size or raw[:4] != _SIG_END64 or cd_end + 12 + _END64.unpack(raw)[1] != at - _LOCATOR.size:
                self.refuse("layout", self._at(cd_end), "the zip64 end record is not right before its locator")
                return None
            _, _, _, _, disk, cd_disk, on_disk, entries, cd_size, cd_offset = _END64.unpack(raw)
        if disk or cd_disk or on_disk != entries:
            self.refuse("layout", self.where, "a split (multi-disk) zip")
        elif cd_offset + cd_size != cd_end:
            gap = cd_end - cd_offset - cd_size
            self.refuse("layout", self._at(0), f"{gap} bytes before the archive's start (another zip or data "
                            "prepended)" if gap > 0 else "the end record points past its central directory")
        elif entries > self.limits.members or cd_size > self.limits.directory:
            self.refuse("layout", self.where, f"{entries} members in a {cd_size}-byte directory: over the "
                            f"limit of {self.limits.members} members, {self.limits.directory} bytes")
        else:
            return entries, cd_offset, cd_end
        return None

    def _central(self, entries: int, offset: int, end: int) -> list[Member] | None:
        """Step 2: every central directory entry parses and is one the verifier may read."""
        self.f.seek(offset)
        blob = self.f.read(end - offset)
        members: list[Member] = []
        pos = 0
        for index in range(entries):
            head = blob[pos: pos + _CENTRAL.size]
            if len(head) < _CENTRAL.size or head[:4] != _SIG_CENTRAL:
                self.refuse("layout", self._at(offset + pos), f"central directory entry {index + 1} is malformed")
                return None
            (_, _, _, flags, method, _, _, crc, csize, usize, nlen, elen, clen, disk, _, _, local) = _CENTRAL.unpack(head)
            start = pos + _CENTRAL.size
            pos = start + nlen + elen + clen
            member = self._entry(blob[start: start + nlen], blob[start + nlen: start + nlen + elen],
                                 (flags, method, crc, csize, usize, local, disk, clen))
            if member is not None:
                members.append(member)
        if pos != len(blob):
            self.refuse("layout", self._at(offset), "the central directory does not hold exactly its entries")
            return None
        for name, earlier, why in clashes(m.name for m in members):
            self.refuse("names", shown(name), f"{why}: {shown(earlier)}")
        total = sum(m.size for m in members)
        if total > self.limits.total_size:
            self.refuse("member", self.where, f"{total} bytes uncompressed: over the {self.limits.total_size}-byte limit")
        return members

    def _entry(self, raw: bytes, extra: bytes, fields: tuple[int, ...]) -> Member | None:
        """One central entry: a canonical name, stored or deflated, not encrypted, sizes within the caps."""
        flags, method, crc, csize, usize, local, disk, comment = fields
        name = raw.decode("utf-8", "backslashreplace")
        where = shown(name)
        problem: str | None = None
        if flags & _UTF8 and name.encode() != raw or not flags & _UTF8 and not raw.isascii():
            problem = "a name that is not UTF-8 flagged as UTF-8 (tools would read it differently)"
        problem = problem or name_problem(name)
        if problem:
            self.refuse("names", where, f"not a canonical name: {problem}")
            return None
        extras = _extras(extra)
        reason: str | None
        wide = _widen([usize, csize, local], extras) if extras is not None else None
        if extras is None or wide is None or disk:
            reason = "its extra fields do not parse" if wide is None else "it lies on another disk"
        elif _UNICODE_PATH_TAG in extras:
            reason = "it carries a second name (a Unicode path field) that some tools show instead"
        elif comment:
            reason = "it carries a comment"
        elif flags & _ENCRYPTED:
            reason = "it is encrypted: a bundle is verified without secrets"
        elif method not in (_STORED, DEFLATED):
            reason = f"compression method {method}: only stored and deflate are read"
        else:
            usize, csize, local = wide
            reason = self._size_problem(method, csize, usize)
        if reason:
            self.refuse("member", where, reason)
            return None
        return Member(name, method, flags, crc, csize, usize, local)

    def _size_problem(self, method: int, csize: int, usize: int) -> str | None:
        cap = self.limits
        if method == _STORED and csize != usize:
            return f"stored, yet {csize} bytes hold {usize}"
        if usize > cap.member_size:
            return f"{usize} bytes uncompressed: over the {cap.member_size}-byte limit for one member"
        if usize > cap.ratio_from and usize > cap.ratio * csize:
            return (f"{csize} bytes inflate to {usize}: over the {cap.ratio}:1 compression limit "
                    "(a zip bomb)")
        return None

    def _locals(self, members: list[Member], cd_offset: int) -> list[Member] | None:
        """Step 3: members lie back to back from byte 0 to the central directory, each local header agreeing."""
        expected = 0
        checked = []
        for m in sorted(members, key=lambda m: m.offset):
            if m.offset != expected:
                reason = ("overlaps the member before it" if m.offset < expected else
                          f"{m.offset - expected} bytes before it belong to no member"
                          + (" (another zip or data prepended)" if expected == 0 else ""))
                self.refuse("layout", shown(m.name), reason)
                return None
            found = self._local(m)
            if found is None:
                return None
            checked.append(found[0])
            expected = found[1]
        if expected != cd_offset:
            self.refuse("layout", self._at(expected), "the members do not end where the central directory starts")
            return None
        return checked

    def _local(self, m: Member) -> tuple[Member, int] | None:
        """The member's local header says what the central directory says; returns it placed, and where it ends."""
        self.f.seek(m.offset)
        head = self.f.read(_LOCAL.size)
        if len(head) < _LOCAL.size or head[:4] != _SIG_LOCAL:
            self.refuse("layout", shown(m.name), "no local header where the central directory places the member")
            return None
        _, _, flags, method, _, _, crc, csize, usize, nlen, elen = _LOCAL.unpack(head)
        rest = self.f.read(nlen + elen)
        extras = _extras(rest[nlen:])
        data = m.offset + _LOCAL.size + nlen + elen
        said = None if extras is None else _widen([usize, csize], extras)
        tail = 0
        if said is not None and flags & _DESCRIPTOR:  # the values follow the data (and may be zero here)
            found = self._descriptor(data + m.compressed_size, _ZIP64_TAG in (extras or {}))
            if found is None or (crc, *said) not in ((0, 0, 0), found[:3]):
                said = None
            else:
                crc, said, tail = found[0], [found[1], found[2]], found[3]
        if rest[:nlen] != m.name.encode() or (flags, method) != (m.flags, m.method) or said is None \
                or (crc, *said) != (m.crc, m.size, m.compressed_size):
            self.refuse("layout", shown(m.name), "its local header disagrees with the central directory "
                            "(name, flags, method, sizes or CRC-32)")
            return None
        return replace(m, data_offset=data), data + m.compressed_size + tail

    def _descriptor(self, at: int, wide: bool) -> tuple[int, int, int, int] | None:
        """The data descriptor after a member's data: (crc, size, compressed size, its own length)."""
        self.f.seek(at)
        raw = self.f.read(24)
        skip = 4 if raw[:4] == _SIG_DESCRIPTOR else 0
        fmt = struct.Struct("<L2Q" if wide else "<3L")
        if len(raw) < skip + fmt.size:
            return None
        crc, csize, usize = fmt.unpack_from(raw, skip)
        return crc, usize, csize, skip + fmt.size


def read_layout(f: BinaryIO, where: str, limits: Limits) -> tuple[list[Member] | None, list[Finding]]:
    """The members of the zip open as `f` (named `where`) in file order, or None, and every refusal."""
    layout = _Layout(f, where, limits)
    return layout.members(), layout.findings
