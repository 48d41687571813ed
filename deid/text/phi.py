"""The HIPAA Safe Harbor identifier types found in report text, and a found span of one."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from qms.errors import QmsError

__all__ = ["PhiSpan", "PhiType", "Span"]


class PhiType(StrEnum):
    """Identifier types of 45 CFR §164.514(b)(2)(i) as they occur in radiology reports."""

    NAME = "NAME"                # (A) names of the patient, relatives, staff
    ADDRESS = "ADDRESS"          # (B) street address
    CITY = "CITY"                # (B) city
    ZIP = "ZIP"                  # (B) zip code
    INSTITUTION = "INSTITUTION"  # (B) a named facility locates the patient
    DATE = "DATE"                # (C) all elements of dates except year
    AGE = "AGE"                  # (C) ages over 89
    PHONE = "PHONE"              # (D)
    FAX = "FAX"                  # (E)
    EMAIL = "EMAIL"              # (F)
    SSN = "SSN"                  # (G)
    MRN = "MRN"                  # (H) medical record numbers
    ACCOUNT = "ACCOUNT"          # (J) account numbers
    ACCESSION = "ACCESSION"      # (R) any other unique identifying number: accession
    ID = "ID"                    # (R) any other unique identifying number
    URL = "URL"                  # (N)
    IP = "IP"                    # (O)
    UID = "UID"                  # (R) a DICOM UID names one study, series or image of the patient


@dataclass(frozen=True, order=True)
class Span:
    """A half-open character range [start, end) of a text holding an identifier of type `kind`.

    `source` says which rule found it (for tests and tuning; never shown with the value).
    """

    start: int
    end: int
    kind: PhiType
    source: str = "pattern"

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise QmsError(f"span [{self.start}, {self.end}) is empty or negative", hint="start < end, both >= 0")

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def text(self, of: str) -> str:
        return of[self.start:self.end]


PhiSpan = Span
"""The public name of a found span."""
