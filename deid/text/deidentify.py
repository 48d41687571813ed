"""De-identify one text: find its identifiers, put keyed surrogates in their place.

The same `Deidentifier` serves report files and DICOM text elements: a value of one patient
gets one surrogate wherever it occurs (a name in a report and in that patient's image
headers), dates move by the patient's offset, and ages over 89 are capped. For a patient
over 89 a birth date is withheld instead of shifted: beside a shifted exam date, a
shifted birth date would still give the real age away (45 CFR §164.514(b)(2)(i)(C)).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from qms.deid.keying import DateShiftRange, DeidKey, normalise_identifier
from qms.deid.text import detect, safe_harbor
from qms.deid.text.hints import Hints
from qms.deid.text.phi import PhiType, Span
from qms.deid.text.surrogates import Surrogates

__all__ = ["BIRTH_DATE_WITHHELD", "Deidentified", "Deidentifier"]

BIRTH_DATE_WITHHELD = "[withheld: age 90+]"


@dataclass(frozen=True)
class Deidentified:
    """The surrogate text, and how many identifiers of each type it replaced (counts carry no PHI)."""

    text: str
    counts: Counter[PhiType] = field(default_factory=Counter)
    spans: tuple[Span, ...] = ()


class Deidentifier:
    """Text de-identification under one key and date-shift range."""

    def __init__(self, key: DeidKey, shift: DateShiftRange = DateShiftRange()) -> None:
        self.key = key
        self.shift = shift
        self._patients: dict[str, Surrogates] = {}

    def surrogates(self, patient: str) -> Surrogates:
        if patient not in self._patients:
            self._patients[patient] = Surrogates(self.key, patient, self.shift)
        return self._patients[patient]

    def surrogate(self, patient: str, kind: PhiType, value: str) -> str:
        """One value's surrogate for `patient` (a header's PN `LAST^FIRST`): the one its reports get."""
        return self.surrogates(patient).replace(kind, value, frozenset(w.lower() for w in re.findall(r"\w+", value)))

    def deidentify(self, text: str, patient: str, hints: Hints = Hints(),
                   not_phi: frozenset[PhiType] = frozenset()) -> Deidentified:
        """`text` with every identifier found replaced by the patient's surrogate for it (the patient id too).

        `not_phi`: kinds that are not identifiers where this text stands (an organisation in a manufacturer).
        """
        hints = Hints((patient, *hints.identifiers), hints.names, hints.birth_date, hints.over_89)
        found = [span for span in detect.find(text, hints) if span.kind not in not_phi]
        spans, births = safe_harbor.withheld(text, found, hints)
        surrogates = self.surrogates(patient)
        subject = normalise_identifier(patient)
        # The report's own patient id becomes the DICOM pipeline's pseudonym, so report and images still pair up.
        pseudonym = self.key.pseudonym("patient", subject)
        real = [span.text(text) for span in spans]
        known = (*real, *(w for name in hints.names for w in re.split(r"[\^\s,]+", name) if len(w) > 1))
        avoid = frozenset(v.lower() for v in known) | frozenset(w.lower() for v in known for w in re.findall(r"\w+", v))
        out, pos = [], 0
        for span, value in zip(spans, real):
            out.append(text[pos:span.start])
            if span in births:
                out.append(BIRTH_DATE_WITHHELD)
            elif normalise_identifier(value) == subject:
                out.append(pseudonym)
            else:
                out.append(surrogates.replace(span.kind, value, avoid))
            pos = span.end
        out.append(text[pos:])
        return Deidentified("".join(out), Counter(s.kind for s in spans), tuple(spans))
