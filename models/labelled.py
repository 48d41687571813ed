"""What training and inference read of a labelled dataset: the shape a dataset manifest has.

`qms.validation.manifest.DatasetManifest` is the one implementation; naming its shape here
keeps the layers one way (validation runs models; models never import validation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

__all__ = ["LabelledCase", "LabelledSet"]


class LabelledCase(Protocol):
    """One file of the dataset: where it is under the root, its hash, whose it is, its reference labels."""

    @property
    def file(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def patient_id(self) -> str: ...
    @property
    def labels(self) -> Mapping[str, int | None]: ...


class LabelledSet(Protocol):
    """A named split of labelled files, identified by its hash, that can check its files' bytes."""

    @property
    def name(self) -> str: ...
    @property
    def split(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def label_names(self) -> tuple[str, ...]: ...
    @property
    def entries(self) -> Sequence[LabelledCase]: ...

    def verify_files(self, root: Path, files: Iterable[str] | None = None) -> None:
        """Raise when a file under `root` is missing or its bytes differ from its hash."""
