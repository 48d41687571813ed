"""Text de-identification: find the Safe Harbor identifiers in any text, hide them in plain sight.

`find_phi(text, hints)` is the one PHI detector, for report text and DICOM text elements
alike; `Deidentifier` rewrites a text with keyed, per-patient surrogates; `deidentify_reports`
does a batch of files (text, JSON lines, CSV, DICOM SR) with a manifest; `synth` and `score`
are the evaluation harness.
"""

from qms.deid.text.batch import BatchOptions, BatchReport, deidentify_reports, record
from qms.deid.text.deidentify import Deidentified, Deidentifier
from qms.deid.text.detect import find as find_phi
from qms.deid.text.formats import Fields, ReportFormat
from qms.deid.text.hints import Hints
from qms.deid.text.phi import PhiSpan, PhiType, Span


__all__ = ["BatchOptions", "BatchReport", "Deidentified", "Deidentifier", "Fields", "Hints", "PhiSpan", "PhiType",
           "ReportFormat", "Span", "deidentify_reports", "find_phi", "record"]
