"""Replacement values: dummies valid for their VR, shifted dates, capped ages.

PS3.15 §E.3.1: a D dummy must be "consistent with the VR"; PS3.5 §6.2 gives each VR's
form and maximum length, so each dummy here is valid under its VR.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache

__all__ = ["MAX_LENGTH", "cap_age", "dummy", "shift_date", "shift_datetime"]

_TEXT_DUMMY = "ANONYMIZED"
_DUMMIES: dict[str, object] = {
    "AE": _TEXT_DUMMY, "AS": "000Y", "CS": _TEXT_DUMMY, "DA": "19000101", "DS": "0", "DT": "19000101000000",
    "IS": "0", "LO": _TEXT_DUMMY, "LT": _TEXT_DUMMY, "PN": _TEXT_DUMMY, "SH": _TEXT_DUMMY, "ST": _TEXT_DUMMY,
    "TM": "000000", "UC": _TEXT_DUMMY, "UR": "urn:anonymized", "UT": _TEXT_DUMMY,
    "FL": 0.0, "FD": 0.0, "SL": 0, "SS": 0, "SV": 0, "UL": 0, "US": 0, "UV": 0, "AT": 0,
}
_BINARY_DUMMY = b"\x00" * 8  # a multiple of every binary VR's unit (OB, OW, OF, OL, OD, OV, UN)
MAX_LENGTH = {"AE": 16, "CS": 16, "SH": 16, "LO": 64, "PN": 64, "ST": 1024, "LT": 10240}
_AGE = re.compile(r"^(\d{3})([DWMY])$")


def dummy(vr: str) -> object:
    """The D value for a VR (not for UI or SQ, which the engine maps and recurses into)."""
    return _DUMMIES.get(vr, _BINARY_DUMMY)


@lru_cache(maxsize=4096)  # a study's files share their dates: most are shifted once per process
def shift_date(value: str, days: int) -> str:
    """Shift a DA (YYYYMMDD, or a range A-B) by whole days; an unparsable value becomes the dummy."""
    if "-" in value:
        return "-".join(shift_date(v, days) if v else "" for v in value.split("-"))
    text = value.strip()
    try:
        shifted = date(int(text[:4]), int(text[4:6]), int(text[6:8])) + timedelta(days=days)
    except (ValueError, OverflowError):
        return str(_DUMMIES["DA"])
    return shifted.strftime("%Y%m%d") if len(text) == 8 else str(_DUMMIES["DA"])


def shift_datetime(value: str, days: int) -> str:
    """Shift a DT's date part by whole days: time of day and UTC offset keep, so intervals do too."""
    text = value.strip()
    if "-" in text[1:] and not _has_offset(text):
        return "-".join(shift_datetime(v, days) if v else "" for v in text.split("-"))
    if len(text) < 8:  # a partial DT (YYYY or YYYYMM) has no day to shift: the dummy date of that precision
        return str(_DUMMIES["DT"])[: len(text)] if len(text) in (4, 6) else str(_DUMMIES["DT"])
    return shift_date(text[:8], days) + text[8:]


def _has_offset(text: str) -> bool:
    return len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and text.count("-") == 1


def cap_age(value: str) -> str:
    """HIPAA §164.514(b)(2)(i)(C): an age over 89 years is aggregated to 90 and over (090Y)."""
    match = _AGE.match(value.strip())
    if match is None:
        return value
    number, unit = int(match.group(1)), match.group(2)
    years = {"Y": number, "M": number / 12, "W": number / 52, "D": number / 365}[unit]
    return "090Y" if years > 89 else value
