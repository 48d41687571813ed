"""What a protocol names, resolved and checked before it is locked or run: the model's identity and the inputs.

Its own module so that `qms protocol lock` resolves the inputs without loading what a run needs
(matplotlib for the plots, the report generator's evaluation): ~0.3 s of every lock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qms.store import Store
from qms.validation import robustness
from qms.validation.analysis import check_compatible
from qms.validation.lock import LockInputs, resolve
from qms.validation.protocol import Protocol

__all__ = ["ModelIdentity", "inputs_for", "model_identity", "registry_identity"]

ModelIdentity = Callable[[str], tuple[str, tuple[str, ...]]]
"""name@version -> (model sha256, training manifest hashes of its lineage)."""


def model_identity(store: Store, ref: str) -> tuple[str, tuple[str, ...]]:
    """The registered model's sha256 and every training manifest hash in its lineage (parents included)."""
    from qms.models import registry

    record = registry.get(store, ref)
    digest, manifests, seen = record.digest, [], set()
    current: Any = record
    while current is not None and current.ref not in seen:
        seen.add(current.ref)
        lineage = json.loads(current.lineage)
        run = lineage.get("training_run") or {}
        if run.get("manifest_sha256"):
            manifests.append(str(run["manifest_sha256"]))
        parent = (lineage.get("parent") or {}).get("ref")
        current = registry.get(store, parent) if parent else None
    return digest, tuple(manifests)


def registry_identity(store: Store) -> ModelIdentity:
    """Model identity from the model registry of `store`."""
    return lambda ref: model_identity(store, ref)


def inputs_for(protocol: Protocol, root: Path, identity: ModelIdentity) -> LockInputs:
    """Resolve what the protocol names and refuse bad input before anything is locked or run."""
    digest, lineage = identity(protocol.model_ref)
    inputs = resolve(protocol, root, digest, lineage)
    check_compatible(protocol, inputs.manifest, protocol.source)
    robustness.check(protocol.robustness, inputs.manifest, protocol.source)
    return inputs
