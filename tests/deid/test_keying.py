"""The de-identification key: deterministic, domain-separated mappings that never leave a date unshifted."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qms.deid.keying import DateShiftRange, DeidKey
from qms.errors import QmsError

KEY = DeidKey(bytes(range(32)))
OTHER = DeidKey(bytes(range(1, 33)))
_uids = st.from_regex(r"[1-9][0-9]{0,3}(\.[1-9][0-9]{0,5}){1,8}", fullmatch=True)


@given(st.lists(_uids, min_size=2, max_size=30, unique=True))
def test_uid_mapping_is_stable_injective_and_valid(uids: list[str]) -> None:
    """Every UID maps to the same 2.25 UID each time, distinct UIDs to distinct ones, all valid."""
    mapped = [KEY.uid(u) for u in uids]
    assert mapped == [KEY.uid(u) for u in uids]
    assert len(set(mapped)) == len(uids)
    for m in mapped:
        assert m.startswith("2.25.") and len(m) <= 64
        assert all(part.isdigit() and (part == "0" or not part.startswith("0")) for part in m.split("."))


def test_uid_padding_does_not_change_the_mapping() -> None:
    """A UID with DICOM's trailing NUL padding maps like the unpadded UID."""
    assert KEY.uid("1.2.840.10008.1\x00") == KEY.uid("1.2.840.10008.1")


def test_mappings_depend_on_the_key() -> None:
    """Another key gives other UIDs, pseudonyms and offsets."""
    assert KEY.uid("1.2.3") != OTHER.uid("1.2.3")
    assert KEY.pseudonym("patient", "MRN1") != OTHER.pseudonym("patient", "MRN1")
    assert KEY.key_id != OTHER.key_id


@given(st.text(min_size=1, max_size=20), st.integers(-4000, 0), st.integers(0, 4000))
def test_date_offset_is_in_range_never_zero_and_stable(patient: str, low: int, high: int) -> None:
    """A patient's offset lies in the configured range, is never zero, and is the same each time."""
    if low == high == 0:
        return
    shift = DateShiftRange(low, high)
    offset = KEY.date_offset_days(patient, shift)
    assert low <= offset <= high and offset != 0
    assert offset == KEY.date_offset_days(f"  {patient}  ".upper(), shift)


def test_bad_ranges_are_refused() -> None:
    """An empty range, or one holding only zero, is refused."""
    with pytest.raises(QmsError):
        DateShiftRange(5, 1)
    with pytest.raises(QmsError):
        DateShiftRange(0, 0)


def test_key_file_round_trip_and_short_key(tmp_path: Path) -> None:
    """keygen writes a private key file that loads; a short key is refused naming the file."""
    path = tmp_path / "deid.key"
    DeidKey.generate(path)
    assert path.stat().st_mode & 0o077 == 0
    assert DeidKey.load(path).uid("1.2.3") == DeidKey.load(path).uid("1.2.3")
    with pytest.raises(FileExistsError):
        DeidKey.generate(path)
    short = tmp_path / "short.key"
    short.write_bytes(b"too short")
    with pytest.raises(QmsError) as caught:
        DeidKey.load(short)
    assert caught.value.where == str(short)
