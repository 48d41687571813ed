"""Text de-identification: find the Safe Harbor identifiers in any text, hide them in plain sight.

`find_phi(text, hints)` is the one PHI detector, for report text and DICOM text elements
alike; `Deidentifier` rewrites a text with keyed, per-patient surrogates; `deidentify_reports`
does a batch of files (text, JSON lines, CSV, DICOM SR) with a manifest; `synth` and `score`
are the evaluation harness.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# The detector first: the DICOM pipeline (qms.deid.dataset) imports it, and the batch formats import that pipeline.
from qms.deid.text.phi import PhiSpan, PhiType, Span  # isort: skip
from qms.deid.text.hints import Hints  # isort: skip
from qms.deid.text.detect import find as find_phi  # isort: skip
from qms.deid.text.deidentify import Deidentified, Deidentifier  # isort: skip
from qms.deid.text.formats import Fields, ReportFormat  # isort: skip

if TYPE_CHECKING:
    from qms.deid.text.batch import BatchOptions, BatchReport, deidentify_reports, record

_BATCH = frozenset({"BatchOptions", "BatchReport", "deidentify_reports", "record"})


def __getattr__(name: str) -> Any:
    """The report batch loads on first use, and the audit trail's ORM with it: the DICOM pipeline's workers
    import this package for the detector alone (issue 17)."""
    if name not in _BATCH:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module("qms.deid.text.batch"), name)
    globals()[name] = value
    return value


__all__ = ["BatchOptions", "BatchReport", "Deidentified", "Deidentifier", "Fields", "Hints", "PhiSpan", "PhiType",
           "ReportFormat", "Span", "deidentify_reports", "find_phi", "record"]
