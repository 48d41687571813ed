"""A raw zip writer for the attack tests: every header field is set here, so each can be made to lie on purpose.

`zipfile` refuses to write most of these archives (twins, mismatched headers, data it did not
compress), which is why the tests build them byte by byte, as an attacker would.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Entry", "entry", "members_of", "write", "zeros_deflated", "with_entries"]

_BLOCK = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One member as written: its compressed bytes (a stream of chunks) and what both headers claim."""

    name: str
    chunks: Iterable[bytes]
    size: int
    crc: int
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0
    local_name: str | None = None  # the local header's name, when it should differ from the directory's
    local_size: int | None = None  # the local header's uncompressed size, when it should differ


def entry(name: str, data: bytes, method: int = zipfile.ZIP_DEFLATED, *, flags: int = 0,
          local_name: str | None = None, local_size: int | None = None) -> Entry:
    """A member holding `data`, deflated (or stored), its headers as given."""
    packed = data if method == zipfile.ZIP_STORED else _deflate(data)
    return Entry(name, [packed], len(data), zlib.crc32(data), method, flags, local_name, local_size)


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def zeros_deflated(size: int) -> tuple[Iterator[bytes], int]:
    """A deflate stream of `size` zero bytes (a multiple of 1 MiB) and its CRC-32, never holding the zeros whole.

    After a full flush the compressor forgets its history, so every 1 MiB block compresses to
    the same ~1 KB: the stream is that block repeated, then an empty final block.
    """
    block = bytes(_BLOCK)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush()
    crc = 0
    for _ in range(size // _BLOCK):
        crc = zlib.crc32(block, crc)
    return iter([*([packed] * (size // _BLOCK)), end]), crc


def members_of(path: Path) -> list[Entry]:
    """The members of a genuine zip, in order, ready to be written again around an attack."""
    with zipfile.ZipFile(path) as z:
        return [entry(i.filename, z.read(i), i.compress_type) for i in z.infolist()]


def _utf8(name: str) -> int:
    return 0 if name.isascii() else 0x800


def write(path: Path, entries: Iterable[Entry]) -> Path:
    """Write `entries` as a zip, each local header followed by its data, then the central directory."""
    central = bytearray()
    count = 0
    with path.open("wb") as f:
        for e in entries:
            offset = f.tell()
            local = (e.local_name or e.name).encode()
            flags = e.flags | _utf8(e.name)
            head = f.tell()
            f.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, e.method, 0, 0x21, e.crc, 0, 0, len(local), 0))
            f.write(local)
            csize = 0
            for chunk in e.chunks:
                f.write(chunk)
                csize += len(chunk)
            end = f.tell()
            f.seek(head + 18)  # the sizes, once the compressed size is known
            f.write(struct.pack("<2L", csize, e.size if e.local_size is None else e.local_size))
            f.seek(end)
            name = e.name.encode()
            central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, e.method, 0, 0x21, e.crc, csize, e.size,
                                   len(name), 0, 0, 0, 0, 0, offset) + name
            count += 1
        start = f.tell()
        f.write(central)
        f.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(central), start, 0))
    return path


def with_entries(src: Path, dst: Path, first: Iterable[Entry] = (), last: Iterable[Entry] = ()) -> Path:
    """The genuine bundle `src` written again to `dst` with extra members ahead of and behind its own."""
    return write(dst, [*first, *members_of(src), *last])
