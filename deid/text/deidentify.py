"""De-identify one report's text: find its identifiers, put keyed surrogates in their place."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from qms.deid.keying import DateShiftRange, DeidKey, normalise_identifier
from qms.deid.text import detect
from qms.deid.text.phi import PhiType, Span
from qms.deid.text.surrogates import Surrogates


@dataclass(frozen=True)
class Deidentified:
    """The surrogate text, and how many identifiers of each type it replaced (counts carry no PHI)."""

    text: str
    counts: Counter[PhiType] = field(default_factory=Counter)
    spans: tuple[Span, ...] = ()


class Deidentifier:
    """Report-text de-identification under one key and date-shift range."""

    def __init__(self, key: DeidKey, shift: DateShiftRange = DateShiftRange()) -> None:
        self.key = key
        self.shift = shift
        self._patients: dict[str, Surrogates] = {}

    def surrogates(self, patient: str) -> Surrogates:
        if patient not in self._patients:
            self._patients[patient] = Surrogates(self.key, patient, self.shift)
        return self._patients[patient]

    def deidentify(self, text: str, patient: str) -> Deidentified:
        """`text` with every identifier found replaced by the patient's surrogate for it (the patient id too)."""
        spans = detect.find(text, (patient,))
        surrogates = self.surrogates(patient)
        subject = normalise_identifier(patient)
        # The report's own patient id becomes the DICOM pipeline's pseudonym, so report and images still pair up.
        pseudonym = self.key.pseudonym("patient", subject)
        real = [span.text(text) for span in spans]
        avoid = frozenset(v.lower() for v in real) | frozenset(w.lower() for v in real for w in re.findall(r"\w+", v))
        out, pos = [], 0
        for span, value in zip(spans, real):
            out.append(text[pos:span.start])
            out.append(pseudonym if normalise_identifier(value) == subject
                       else surrogates.replace(span.type, value, avoid))
            pos = span.end
        out.append(text[pos:])
        return Deidentified("".join(out), Counter(s.type for s in spans), tuple(spans))
