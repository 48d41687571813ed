"""The bundle zip reader on its own: what careful writers produce reads, every irregular archive is a finding."""

from __future__ import annotations

import hashlib
import io
import struct
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms.release.archive import Contents, Limits, read_contents
from tests.release.zipcraft import Entry, write, zeros_deflated

DATA = {"a/one.json": b'{"x": 1}\n' * 200, "b.bin": bytes(range(256)) * 40, "r\u00e9sum\u00e9.txt": b"caf\xc3\xa9\n", "empty": b""}


def _zipfile(path: Path, *, stream: bool = False, zip64: bool = False, method: int = zipfile.ZIP_DEFLATED) -> Path:
    """`DATA` written by Python's zipfile: whole, or streamed to an unseekable file (data descriptors)."""
    sink = io.BytesIO()
    target = _Unseekable(sink) if stream else sink
    with zipfile.ZipFile(target, "w", compression=method) as z:
        for name, data in DATA.items():
            with z.open(name, "w", force_zip64=zip64) as w:
                w.write(data)
    path.write_bytes(sink.getvalue())
    return path


class _Unseekable(io.RawIOBase):
    def __init__(self, sink: io.BytesIO) -> None:
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self.sink.write(data)


def _read(path: Path, limits: Limits = Limits()) -> Contents:
    return read_contents(path, lambda name: name.endswith(".json"), limits)


@pytest.mark.parametrize(("stream", "zip64", "method"), [(False, False, zipfile.ZIP_DEFLATED), (True, False, zipfile.ZIP_DEFLATED),
                                                        (False, True, zipfile.ZIP_STORED), (True, True, zipfile.ZIP_STORED)],
                         ids=["deflated", "descriptors", "zip64-stored", "zip64-descriptors"])
def test_careful_writers_archives_read(tmp_path: Path, stream: bool, zip64: bool, method: int) -> None:
    """Archives from Python's zipfile (deflated or stored, data descriptors, zip64 fields) read with every member's true sha256."""
    contents = _read(_zipfile(tmp_path / "a.zip", stream=stream, zip64=zip64, method=method))
    assert not contents.findings
    assert contents.sha256 == {n: hashlib.sha256(d).hexdigest() for n, d in DATA.items()}
    assert contents.data == {"a/one.json": DATA["a/one.json"]}


def test_member_inflating_past_its_declared_size_is_stopped(tmp_path: Path) -> None:
    """A member declaring 2 MiB that inflates to 64 MiB is stopped at its declared size, with little memory used."""
    chunks, crc = zeros_deflated(64 << 20)
    path = write(tmp_path / "a.zip", [Entry("z.bin", chunks, 2 << 20, crc)])
    tracemalloc.start()
    try:
        contents = _read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [f.where for f in contents.findings] == ["z.bin"] and "past its declared" in contents.findings[0].reason
    assert peak < 16 << 20


@pytest.mark.parametrize(("limits", "reason"), [(Limits(member_size=1000), "limit for one member"),
                                                (Limits(ratio=5, ratio_from=1000), "compression limit"),
                                                (Limits(in_memory=100), "read whole"),
                                                (Limits(total_size=5000), "bytes uncompressed")])
def test_caps_are_configurable(tmp_path: Path, limits: Limits, reason: str) -> None:
    """Each cap (member size, compression ratio, size read whole, total size) refuses what exceeds it, naming why."""
    contents = _read(_zipfile(tmp_path / "a.zip"), limits)
    assert any(reason in f.reason for f in contents.findings)


@pytest.mark.parametrize(("member", "reason"), [
    (Entry("a.bin", [b"abc"], 3, 0, zipfile.ZIP_STORED), "CRC-32"),
    (Entry("a.bin", [b"abcdef"], 5, 0, zipfile.ZIP_STORED), "stored, yet"),
    (Entry("a.bin", [b"\x00" * 10], 10, 0, zipfile.ZIP_BZIP2), "compression method 12"),
    (Entry("a.bin", [b"\x00" * 10], 10, 0, zipfile.ZIP_DEFLATED), "deflate"),
])
def test_damaged_or_unreadable_members_are_findings(tmp_path: Path, member: Entry, reason: str) -> None:
    """A wrong CRC, sizes a stored member cannot have, another compression method or corrupt deflate data is a finding."""
    contents = _read(write(tmp_path / "a.zip", [member]))
    assert [f.where for f in contents.findings] == ["a.bin"] and reason in contents.findings[0].reason


def test_comments_and_second_names_are_refused(tmp_path: Path) -> None:
    """A zip comment, and a member carrying a second (Unicode path) name some tools show instead, are refused."""
    with zipfile.ZipFile(tmp_path / "c.zip", "w") as z:
        z.comment = b"not signed"
        z.writestr("a.txt", b"a")
    info = zipfile.ZipInfo("b.txt")
    info.extra = struct.pack("<HHB", 0x7075, 5, 1) + b"\x00" * 4
    with zipfile.ZipFile(tmp_path / "u.zip", "w") as z:
        z.writestr(info, b"b")
    assert "follow the end record" in _read(tmp_path / "c.zip").findings[0].reason
    assert "second name" in _read(tmp_path / "u.zip").findings[0].reason


def test_an_unreadable_path_is_a_finding(tmp_path: Path) -> None:
    """A bundle path that cannot be opened is a finding, not an exception."""
    assert _read(tmp_path / "missing.zip").findings[0].check == "bundle.layout"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_archives_never_raise_and_never_read_differently(data: st.DataObject) -> None:
    """Any byte changed, cut or added in a good archive gives findings or, read cleanly, exactly the original members."""
    with tempfile.TemporaryDirectory() as tmp:
        good = _zipfile(Path(tmp) / "g.zip", stream=data.draw(st.booleans()))
        raw = bytearray(good.read_bytes())
        expected = _read(good).sha256
        for _ in range(data.draw(st.integers(1, 3))):
            at = data.draw(st.integers(0, len(raw) - 1))
            match data.draw(st.sampled_from(["flip", "cut", "insert"])):
                case "flip":
                    raw[at] ^= data.draw(st.integers(1, 255))
                case "cut":
                    del raw[at: at + data.draw(st.integers(1, 64))]
                case _:
                    raw[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        bad = Path(tmp) / "b.zip"
        bad.write_bytes(bytes(raw))
        contents = _read(bad)
    assert contents.findings or contents.sha256 == expected
