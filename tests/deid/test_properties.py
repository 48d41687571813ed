"""Properties over random input: planted PHI never survives, UIDs map stably and injectively,
a patient's dates all move by one offset, and ages over 89 are capped."""

from __future__ import annotations

import random
from datetime import date, timedelta
from io import BytesIO

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence

from qms.deid.dataset import Deidentifier
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pixels import PixelOptions
from qms.deid.reader import deidentify_bytes
from qms.deid.synthetic import synthetic_ct
from qms.deid.values import cap_age

KEY = DeidKey(b"property-test-key-of-32-bytes!!!")
# Attributes whose value the Basic Profile removes or replaces (X, Z, D, U and combinations).
_REMOVED_TEXT = ("PatientName", "OtherPatientIDs", "PatientAddress", "AccessionNumber", "ReferringPhysicianName",
                 "PerformingPhysicianName", "OperatorsName", "InstitutionName", "InstitutionAddress", "StationName",
                 "StudyID", "PatientMotherBirthName", "MilitaryRank", "PatientTelephoneNumbers", "RequestingPhysician",
                 "DetectorID", "DeviceSerialNumber", "IssuerOfPatientID", "PerformedProcedureStepID")
_NESTING = ("ReferencedSeriesSequence", "AnatomicRegionSequence", "ContentSequence", "OtherPatientIDsSequence")
_token = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=8, max_size=8).map(lambda s: f"Q{s}")
_place = st.tuples(st.sampled_from(_REMOVED_TEXT + ("private", "descriptor")),
                   st.lists(st.sampled_from(_NESTING), max_size=3))


def _bytes(ds: Dataset) -> bytes:
    out = BytesIO()
    dcmwrite(out, ds, enforce_file_format=True)
    return out.getvalue()


def _plant(ds: Dataset, where: str, nesting: list[str], token: str, group: int) -> None:
    target = ds
    for keyword in nesting:
        item = Dataset()
        setattr(target, keyword, Sequence([item]))
        target = item
    if where == "private":
        target.private_block(group, f"PLANTED {group:04X}", create=True).add_new(0x01, "LO", token)
    elif where == "descriptor":  # a descriptor (Clean Descriptors) quoting one of the patient's names
        target.SeriesDescription = f"CT {token} follow-up"
        current = ds.get("OtherPatientNames")  # one name is a PersonName, several a MultiValue of them
        others = [] if current is None else list(current) if isinstance(current, MultiValue) else [current]
        ds.OtherPatientNames = [*others, f"{token}^X"]
    else:
        setattr(target, where, token)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plants=st.lists(st.tuples(_token, _place, st.integers(0x0009, 0x7FFF).map(lambda g: g | 1)),
                       min_size=1, max_size=6), seed=st.integers(0, 1000))
def test_no_planted_value_survives_anywhere(plants: list[tuple[str, tuple[str, list[str]], int]], seed: int) -> None:
    """PHI planted in random standard, private and nested elements appears nowhere in the output bytes."""
    ds = synthetic_ct(random.Random(seed), seed, 1, 1)
    for token, (where, nesting), group in plants:
        _plant(ds, where, nesting, token, group)
    out = deidentify_bytes(_bytes(ds), Deidentifier(KEY, DeidOptions()), PixelOptions()).data
    for token, _, _ in plants:
        assert token.encode() not in out


@settings(max_examples=50, deadline=None)
@given(uids=st.sets(st.lists(st.integers(0, 10**12), min_size=2, max_size=8).map(
    lambda parts: "1." + ".".join(map(str, parts))), min_size=2, max_size=30))
def test_uid_mapping_is_stable_and_injective(uids: set[str]) -> None:
    """The same UID maps the same in two independent engines; different UIDs never map alike."""
    first, second = Deidentifier(KEY, DeidOptions()), Deidentifier(KEY, DeidOptions())
    mapped = {u: first.uid(u) for u in uids}
    assert all(second.uid(u) == m for u, m in mapped.items())
    assert len(set(mapped.values())) == len(uids)
    assert all(m.startswith("2.25.") and len(m) <= 64 for m in mapped.values())


_DATED = ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate", "DateOfLastCalibration",
          "InstanceCreationDate")


@settings(max_examples=30, deadline=None)
@given(days=st.lists(st.tuples(st.sampled_from(_DATED), st.integers(0, 20000)), min_size=2, max_size=10),
       times=st.lists(st.integers(0, 86399), min_size=1, max_size=3), patient=st.integers(0, 50))
def test_a_patients_dates_move_by_one_offset(days: list[tuple[str, int]], times: list[int], patient: int) -> None:
    """Within a patient every DA and DT moves by the same non-zero offset and TM stays, so intervals hold."""
    engine = Deidentifier(KEY, DeidOptions())
    base = date(1970, 1, 1)
    offsets = set()
    for i, (keyword, day) in enumerate(days):
        ds = Dataset()
        ds.PatientID = f"PAT{patient}"
        original = base + timedelta(days=day)
        setattr(ds, keyword, original.strftime("%Y%m%d"))
        t = times[i % len(times)]
        ds.AcquisitionDateTime = original.strftime("%Y%m%d") + f"{t // 3600:02d}{t // 60 % 60:02d}{t % 60:02d}"
        ds.AcquisitionTime = f"{t // 3600:02d}{t // 60 % 60:02d}{t % 60:02d}"
        before_tm = ds.AcquisitionTime
        engine.deidentify(ds)
        shifted = date.fromisoformat(str(getattr(ds, keyword)))
        dt = str(ds.AcquisitionDateTime)
        offsets.add((shifted - original).days)
        offsets.add((date.fromisoformat(dt[:8]) - original).days)
        assert dt[8:] == before_tm and ds.AcquisitionTime == before_tm
    assert len(offsets) == 1 and 0 not in offsets


@given(number=st.integers(0, 999), unit=st.sampled_from("DWMY"))
def test_ages_over_89_become_090y(number: int, unit: str) -> None:
    """An age over 89 years becomes 090Y; any other age is kept as it was."""
    value = f"{number:03d}{unit}"
    years = {"Y": number, "M": number / 12, "W": number / 52, "D": number / 365}[unit]
    assert cap_age(value) == ("090Y" if years > 89 else value)


def test_patient_age_is_capped_in_the_dataset() -> None:
    """Under Retain Patient Characteristics, Patient's Age 095Y is written as 090Y and sex is kept."""
    ds = Dataset()
    ds.PatientID = "PAT1"
    ds.PatientAge = "095Y"
    ds.PatientSex = "M"
    Deidentifier(KEY, DeidOptions()).deidentify(ds)
    assert ds.PatientAge == "090Y" and ds.PatientSex == "M"
