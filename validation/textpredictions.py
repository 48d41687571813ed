"""What a report-generation model hands a validation run: per case, the generated and the reference report.

A table (CSV, or Parquet) with the columns `case_id`, `patient_id`, `generated`,
`reference` and `has_prior`, and any further columns as subgroup attributes (sex, age,
site...). The generator writes it (or any tool does), so validation runs on generated
text without the model's code. Reading refuses, naming the file, the column and the row:
a missing column, a repeated case id, an empty id, a missing text, a `has_prior` that is
not a yes or no.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from qms.errors import QmsError
from qms.validation.manifest import AttributeValue

__all__ = ["REQUIRED", "TextPredictions", "read_text_predictions"]

REQUIRED = ("case_id", "patient_id", "generated", "reference", "has_prior")
_YES, _NO = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f"}


@dataclass(frozen=True)
class TextPredictions:
    case_ids: tuple[str, ...]
    patient_ids: tuple[str, ...]
    generated: tuple[str, ...]
    reference: tuple[str, ...]
    has_prior: NDArray[np.bool_]
    attributes: dict[str, list[AttributeValue]]
    source: str = ""

    def __len__(self) -> int:
        return len(self.case_ids)

    @property
    def clusters(self) -> NDArray[np.int64]:
        """Each case's patient as 0..k-1: the clusters of the patient-level bootstrap."""
        _, codes = np.unique(np.asarray(self.patient_ids), return_inverse=True)
        return codes.astype(np.int64)


def _frame(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise QmsError(f"text predictions {path} do not exist", where=str(path))
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[])
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise QmsError(f"text predictions {path} cannot be read: {exc}", where=str(path)) from None
    raise QmsError(f"text predictions {path} are neither .csv nor .parquet", where=str(path))


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _YES or text in _NO:
        return text in _YES
    raise QmsError(f"has_prior is {value!r}, not a yes or no", where=where, hint="true or false (1 or 0)")


def _attribute(value: Any) -> AttributeValue:
    if value is None or isinstance(value, float) and value != value or value == "":
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    return str(value)


def read_text_predictions(path: Path) -> TextPredictions:
    """The table, validated; errors name file, column and row (row 2 is the first data row of a CSV)."""
    frame = _frame(path)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise QmsError(f"text predictions {path} lack the column(s) {', '.join(missing)}", where=str(path),
                       hint=f"columns: {', '.join(REQUIRED)}, then any subgroup attributes")
    rows = frame.to_dict("records")
    seen: dict[str, int] = {}
    for i, row in enumerate(rows, start=2):
        for column in ("case_id", "patient_id", "generated", "reference"):
            value = row[column]
            if not isinstance(value, str) or (column.endswith("_id") and not value.strip()):
                raise QmsError(f"{column} is missing or not text ({value!r})", where=f"{path}: row {i}, column {column}")
        case = row["case_id"]
        if case in seen:
            raise QmsError(f"case_id {case!r} appears twice (rows {seen[case]} and {i})", where=f"{path}: row {i}")
        seen[case] = i
    extra = [c for c in frame.columns if c not in REQUIRED]
    return TextPredictions(
        tuple(r["case_id"] for r in rows), tuple(r["patient_id"] for r in rows),
        tuple(r["generated"] for r in rows), tuple(r["reference"] for r in rows),
        np.array([_flag(r["has_prior"], f"{path}: row {i}, column has_prior") for i, r in enumerate(rows, start=2)],
                 dtype=np.bool_),
        {c: [_attribute(r[c]) for r in rows] for c in extra}, str(path))
