"""The locked validation run a production model is compared with: its scores and its inputs, re-checked.

The run's predictions file must still have the sha256 the run recorded, and each dataset
file the sha256 its manifest states; the inputs are described with the same function the
service uses at the door (`qms.api.features.describe`), so both sides are measured alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qms.errors import CheckFailed, QmsError
from qms.hashing import sha256_file
from qms.store import Store

__all__ = ["Reference", "from_run"]


@dataclass(frozen=True)
class Reference:
    """What production is compared with: the run, its model, per-label scores and per-image input descriptions."""

    run_id: str
    model_ref: str
    protocol_path: Path | None
    scores: Mapping[str, npt.NDArray[np.float64]]
    inputs: Sequence[Mapping[str, Any]]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.scores)


def from_run(store: Store, run_id: str, root: Path) -> Reference:
    """The reference of a recorded validation run, its files checked against their recorded hashes."""
    import pandas as pd
    import pydicom

    from qms.api.features import describe
    from qms.validation.protocolparser import read_protocol
    from qms.validation.records import ProtocolLock
    from qms.validation.run import show

    run = show(store, run_id)
    with store.reader() as session:
        lock = session.get(ProtocolLock, run.lock_id)
    if lock is None:
        raise QmsError(f"validation run {run_id} names a protocol lock that is not recorded", where=f"validation:{run_id}")
    predictions = Path(run.out_dir) / "predictions.parquet"
    if not predictions.is_file() or sha256_file(predictions) != run.predictions_sha256:
        raise CheckFailed("the run's predictions file is missing or not the one the run recorded", where=str(predictions))
    frame = pd.read_parquet(predictions)
    protocol_path = root / lock.path
    protocol = read_protocol(protocol_path)
    data_root = root / protocol.data_root
    inputs = []
    for name, digest in zip(frame["file"], frame["sha256"], strict=True):
        path = data_root / str(name)
        if sha256_file(path) != digest:
            raise CheckFailed("a validation file differs from its manifest", where=str(path))
        inputs.append(describe(pydicom.dcmread(path)))
    scores = {c.removeprefix("prob_"): frame[c].to_numpy(dtype=np.float64) for c in frame.columns if c.startswith("prob_")}
    return Reference(run.id, run.model_ref, protocol_path, {k: v[~np.isnan(v)] for k, v in scores.items()}, inputs)
