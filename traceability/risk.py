"""ISO 14971 risk estimation and evaluation for hazards.

Risk is estimated from severity and probability of occurrence of harm, each on a
five-level scale (§5.5); the default acceptability policy below is the criterion a risk
management plan must define (§4.4 c). A residual risk in the ALARP band is acceptable
only with a written benefit-risk justification (§7.4); above it, never (§7.3).
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Acceptability", "LEVELS", "PROBABILITY_NAMES", "SEVERITY_NAMES", "evaluate", "risk_index"]

LEVELS = range(1, 6)
SEVERITY_NAMES = {1: "negligible", 2: "minor", 3: "serious", 4: "critical", 5: "catastrophic"}
PROBABILITY_NAMES = {1: "improbable", 2: "remote", 3: "occasional", 4: "probable", 5: "frequent"}

_ACCEPTABLE_MAX = 4
_ALARP_MAX = 9


class Acceptability(str, Enum):
    """The outcome of risk evaluation (ISO 14971 §5.5, §7.3)."""

    ACCEPTABLE = "acceptable"
    ALARP = "alarp"
    UNACCEPTABLE = "unacceptable"


def risk_index(severity: int, probability: int) -> int:
    return severity * probability


def evaluate(severity: int, probability: int) -> Acceptability:
    """Evaluate one risk against the default policy (severity x probability)."""
    index = risk_index(severity, probability)
    if index <= _ACCEPTABLE_MAX:
        return Acceptability.ACCEPTABLE
    if index <= _ALARP_MAX:
        return Acceptability.ALARP
    return Acceptability.UNACCEPTABLE
