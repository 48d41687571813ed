"""De-identification of DICOM (PS3.15 Annex E) and of report text, keyed and deterministic."""
