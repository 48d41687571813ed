"""Report-text de-identification: find the Safe Harbor identifiers, hide them in plain sight.

`Deidentifier` rewrites one report; `deidentify_reports` a batch of files (text, JSON
lines, CSV, DICOM SR) with a manifest; `synth` and `score` are the evaluation harness.
"""

from qms.deid.text.batch import BatchOptions, BatchReport, deidentify_reports, record
from qms.deid.text.deidentify import Deidentified, Deidentifier
from qms.deid.text.formats import Fields, ReportFormat
from qms.deid.text.phi import PhiType, Span

__all__ = ["BatchOptions", "BatchReport", "Deidentified", "Deidentifier", "Fields", "PhiType", "ReportFormat",
           "Span", "deidentify_reports", "record"]
