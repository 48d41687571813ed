"""Keyed, deterministic de-identification of development data (REQ-007..010, RC-002)."""

from __future__ import annotations

import pytest

from qms.deid.keying import DateShiftRange, DeidKey

UIDS = [f"1.2.826.0.1.3680043.8.498.{n}" for n in range(200)]


@pytest.mark.verifies("REQ-007")
def test_uids_map_the_same_way_every_run_and_never_collide(key: DeidKey) -> None:
    """The same UID maps to the same new UID on every call, 200 different UIDs map to 200 different ones, all valid."""
    first = [key.uid(u) for u in UIDS]
    again = [DeidKey(b"synthetic-example-key-0123456789abcdef").uid(u) for u in UIDS]
    assert first == again
    assert len(set(first)) == len(UIDS)
    assert all(u.startswith("2.25.") and len(u) <= 64 and u not in UIDS for u in first)


@pytest.mark.verifies("REQ-008")
def test_every_date_of_a_patient_shifts_by_one_offset_in_range(key: DeidKey) -> None:
    """A patient's date offset is the same for every call and each patient's lies within the configured range, never 0."""
    window = DateShiftRange(min_days=-400, max_days=-30)
    offsets = {p: key.date_offset_days(p, window) for p in (f"SYN{n:04d}" for n in range(100))}
    assert all(key.date_offset_days(p, window) == o for p, o in offsets.items())
    assert all(-400 <= o <= -30 for o in offsets.values())


@pytest.mark.verifies("REQ-009", "RC-002")
def test_patient_pseudonyms_are_stable_and_hide_the_identifier(key: DeidKey) -> None:
    """A patient id's pseudonym is the same every time (also with DICOM padding) and does not contain the id."""
    pseudonym = key.pseudonym("patient", "SYN0042")
    assert key.pseudonym("patient", " syn0042 ") == pseudonym
    assert "0042" not in pseudonym and "SYN" not in pseudonym
    assert key.pseudonym("patient", "SYN0043") != pseudonym


@pytest.mark.verifies("REQ-010", "RC-002")
def test_a_different_key_gives_unlinkable_output(key: DeidKey) -> None:
    """UIDs and pseudonyms made with another key share nothing with this key's, so datasets cannot be joined."""
    other = DeidKey(b"another-synthetic-key-for-a-second-recipient")
    assert not {key.uid(u) for u in UIDS} & {other.uid(u) for u in UIDS}
    assert key.pseudonym("patient", "SYN0042") != other.pseudonym("patient", "SYN0042")
