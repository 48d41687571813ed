"""Independence of the test set from training (VALIDATION.md, "independence evidence").

The test manifest's pseudonymous patient ids, study ids and file hashes are joined with
every training manifest in the model's lineage (and any the protocol adds). Any overlap
fails the run with its count; a training manifest that cannot be found fails closed,
since independence that was not checked is not evidence. The run adds the near-duplicate
image check (`qms.validation.neardup`), whose pairs fail the run the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qms.validation.manifest import DatasetManifest
from qms.validation.neardup import NearDuplicates

__all__ = ["Independence", "check_independence"]


@dataclass(frozen=True)
class Independence:
    """The overlap counts of one test manifest against its training manifests."""

    test_manifest: str
    checked: tuple[str, ...]
    unresolved: tuple[str, ...]
    patients: int
    studies: int
    files: int
    near_duplicates: NearDuplicates | None = None

    @property
    def ok(self) -> bool:
        near_ok = self.near_duplicates is None or self.near_duplicates.ok
        return bool(self.checked) and not self.unresolved and self.patients == self.studies == self.files == 0 and near_ok

    def reasons(self) -> list[str]:
        out = []
        if not self.checked and not self.unresolved:
            out.append("no training manifest is known for this model: independence cannot be shown")
        out += [f"training manifest {h} of the model's lineage is not in the store or the protocol" for h in self.unresolved]
        for what, n in (("patients", self.patients), ("studies", self.studies), ("files", self.files)):
            if n:
                out.append(f"{n} {what} of the test set are also in training data")
        return out + (self.near_duplicates.reasons() if self.near_duplicates is not None else [])

    def to_json(self) -> dict[str, Any]:
        return {"test_manifest": self.test_manifest, "training_manifests": list(self.checked),
                "unresolved": list(self.unresolved), "overlap": {"patients": self.patients, "studies": self.studies,
                                                                 "files": self.files},
                "near_duplicates": self.near_duplicates.to_json() if self.near_duplicates is not None else None,
                "ok": self.ok, "reasons": self.reasons()}


def check_independence(test: DatasetManifest, training: Mapping[str, DatasetManifest | None]) -> Independence:
    """Join the test set with each training manifest (None: named but not found) by patient, study and file hash."""
    found = {h: m for h, m in training.items() if m is not None}
    patients = set().union(*(m.patient_ids for m in found.values())) if found else set()
    studies = set().union(*(m.study_uids for m in found.values())) if found else set()
    files = set().union(*(set(m.file_hashes.values()) for m in found.values())) if found else set()
    return Independence(
        test_manifest=test.sha256, checked=tuple(sorted(found)),
        unresolved=tuple(sorted(h for h, m in training.items() if m is None)),
        patients=len(test.patient_ids & patients), studies=len(test.study_uids & studies),
        files=len(set(test.file_hashes.values()) & files),
    )
