"""The model registry: register a folder as `name@version`, list and show versions, load one hash-checked.

Registering hashes every file, validates the card, loads the model once to prove the
weights, config and labels agree, and appends the version, its first stage
(development) and an audit event in one transaction. A folder that is byte for byte what a
training run recorded in this store wrote, and that the run loaded back from those files
(`LOADED_BACK`), is not loaded again: the proof is the run's, and registration then needs
neither torch nor transformers. Loading re-checks every hash first,
and those of every version in its lineage: a fine-tune's base (and the base's base) must
still be the files that were registered, and a LoRA adapter is loaded over its base.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, select

from qms import audit
from qms.hashing import canonical_json, digest_of
from qms.models.card import ModelCard, ModelFormat
from qms.models.errors import ModelError
from qms.models.fileset import FileSet
from qms.models.location import folder_of, stored_location
from qms.models.records import ModelStage, ModelVersion, TrainingRun
from qms.models.refs import find_version, parse_ref
from qms.models.stages import Stage, current_stage
from qms.store import Store

if TYPE_CHECKING:
    from qms.models.loaders import LoadedModel

__all__ = ["LINEAGE_FILE", "LOADED_BACK", "VersionView", "get", "lineage_chain", "load", "register", "show", "versions"]

LINEAGE_FILE = "lineage.json"
LOADED_BACK = "loaded_back"
"""The training run's metrics key: true when `qms model train` loaded the written folder back before recording it."""


def get(store: Store, ref: str) -> ModelVersion:
    with store.reader() as session:
        return find_version(session, ref)


@dataclass(frozen=True)
class VersionView:
    """A version as `list` and `show` present it: the record, its current stage, its stage history."""

    record: ModelVersion
    stage: Stage
    history: tuple[ModelStage, ...]

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        r = self.record
        data: dict[str, Any] = {"ref": r.ref, "name": r.name, "version": r.version, "digest": r.digest,
                                "stage": self.stage.value, "format": r.format, "labels": json.loads(r.labels),
                                "registered_at": r.created_at.isoformat(), "registered_by": r.registered_by}
        if full:
            data |= {"files": json.loads(r.files), "card": json.loads(r.card), "card_digest": r.card_digest,
                     "lineage": json.loads(r.lineage), "location": r.location,
                     "stages": [{"stage": s.stage, "at": s.created_at.isoformat(), "actor": s.actor, "reason": s.reason,
                                 "release_id": s.release_id} for s in self.history]}
        return data


def _history(session: Session, version_id: str) -> tuple[ModelStage, ...]:
    rows = session.exec(select(ModelStage).where(ModelStage.model_version_id == version_id)
                        .order_by(col(ModelStage.created_at))).all()
    return tuple(rows)


def versions(store: Store, *, name: str | None = None) -> list[VersionView]:
    """Every registered version (of one name, if given), oldest first, with its current stage."""
    with store.reader() as session:
        query = select(ModelVersion).order_by(col(ModelVersion.name), col(ModelVersion.created_at))
        if name:
            query = query.where(ModelVersion.name == name)
        out = []
        for record in session.exec(query).all():
            history = _history(session, record.id)
            out.append(VersionView(record, current_stage(history), history))
    return out


def show(store: Store, ref: str) -> VersionView:
    with store.reader() as session:
        record = find_version(session, ref)
        history = _history(session, record.id)
    return VersionView(record, current_stage(history), history)


def _lineage(session: Session, folder: Path, fileset: FileSet, card: ModelCard, parent: str | None) -> dict[str, Any]:
    """The parent and the training run, checked against the store and the folder's own lineage file."""
    run_json: dict[str, Any] | None = None
    lineage_path = folder / LINEAGE_FILE
    if lineage_path.is_file():
        try:
            written = json.loads(lineage_path.read_text(encoding="utf-8"))
            run_id = str(written["training_run_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"the lineage file is not valid: {exc}", where=str(lineage_path)) from exc
        run = session.get(TrainingRun, run_id)
        if run is None:
            raise ModelError(f"the lineage names training run {run_id}, which this store has not recorded",
                             where=str(lineage_path), hint="register in the store where `qms model train` ran")
        if run.output_digest != fileset.digest:
            raise ModelError("the folder is not what its training run wrote (digest differs)", where=str(folder),
                             hint="a trained folder is registered unchanged; retrain to change it")
        if run.manifest_sha256 != card.training_data.manifest_sha256:
            raise ModelError(f"the card's training_data.manifest_sha256 differs from the training run's "
                             f"manifest {run.manifest_sha256}", where=str(folder / "model_card.yaml"))
        parent = parent or run.parent
        run_json = {"id": run.id, "manifest_sha256": run.manifest_sha256, "config_digest": run.config_digest,
                    "seed": run.seed, "git_commit": run.git_commit, "git_dirty": run.git_dirty}
    parent_json = None
    if parent:
        record = find_version(session, parent)
        parent_json = {"ref": record.ref, "digest": record.digest}
    return {"parent": parent_json, "training_run": run_json}


def _loaded_back_by_training(store: Store, folder: Path, fileset: FileSet) -> bool:
    """Whether a training run of this store wrote exactly these files and loaded them back (the model is proven)."""
    try:
        run_id = str(json.loads((folder / LINEAGE_FILE).read_text(encoding="utf-8"))["training_run_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return False  # no or no valid lineage file: loaded, and `_lineage` names any problem
    with store.reader() as session:
        run = session.get(TrainingRun, run_id)
    return run is not None and run.output_digest == fileset.digest and json.loads(run.metrics).get(LOADED_BACK) is True


def register(store: Store, folder: Path, *, name: str, version: str, actor: str, parent: str | None = None,
             root: Path | None = None) -> VersionView:
    """Register `folder` as name@version in stage development; bad input registers nothing.

    The folder is recorded relative to the project `root` when it lies inside it.
    """
    ref = f"{name}@{version}"
    parse_ref(ref)
    folder = folder.resolve()
    fileset = FileSet.of_folder(folder)
    card = ModelCard.from_folder(folder)
    if card.architecture.format is ModelFormat.LORA:
        if parent is None:
            raise ModelError("a LoRA adapter is registered over its base: name the base with --parent", where=ref)
        loaded = _load_checked(folder, ref, fileset, load(store, parent, root=root))
        card, labels = loaded.card, loaded.labels
    elif _loaded_back_by_training(store, folder, fileset):
        labels = card.output_labels  # `load_folder` proved them equal to the config's when the run loaded it back
    else:
        loaded = _load_checked(folder, ref, fileset, None)
        card, labels = loaded.card, loaded.labels
    card_json = card.to_json()
    with store.transaction() as session:
        if session.exec(select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version)).first():
            raise ModelError("this model version is already registered", where=ref,
                             hint="versions are immutable; register the new files as a new version")
        lineage = _lineage(session, folder, fileset, card, parent)
        record = ModelVersion(
            name=name, version=version, digest=fileset.digest, format=card.architecture.format.value,
            labels=canonical_json(list(labels)).decode(), files=canonical_json(fileset.to_json()).decode(),
            card=canonical_json(card_json).decode(), card_digest=digest_of(card_json),
            lineage=canonical_json(lineage).decode(), location=stored_location(folder, root), registered_by=actor,
        )
        stage = ModelStage(model_version_id=record.id, stage=Stage.DEVELOPMENT.value, actor=actor, reason="registered")
        session.add(record)
        session.flush()
        session.add(stage)
        audit.append(session, audit.EventSpec(
            actor, "model.register", f"model:{ref}", after=audit.state_digest({"digest": record.digest, "stage": stage.stage}),
            details={"digest": record.digest, "files": len(fileset.entries), "format": record.format,
                     "labels": list(labels), "parent": lineage["parent"],
                     "training_run": (lineage["training_run"] or {}).get("id")},
        ))
    return VersionView(record, Stage.DEVELOPMENT, (stage,))


def _load_checked(folder: Path, ref: str, fileset: FileSet, base: LoadedModel | None) -> LoadedModel:
    """Load the folder (torch and the model's library load here) and check nothing changed while it loaded."""
    from qms.models.loaders import load_folder

    loaded = load_folder(folder, ref=ref, digest=fileset.digest, base=base)
    fileset.verify(folder)
    return loaded


def lineage_chain(store: Store, ref: str) -> list[ModelVersion]:
    """The version and its ancestors, nearest first; a recorded parent digest that differs is refused."""
    chain = [get(store, ref)]
    while (parent := json.loads(chain[-1].lineage).get("parent")) is not None:
        record = get(store, str(parent["ref"]))
        if record.digest != parent["digest"] or any(r.id == record.id for r in chain):
            raise ModelError(f"{chain[-1].ref} names parent {parent['ref']} with digest {str(parent['digest'])[:12]}, "
                             f"the registry has {record.digest[:12]}", where=f"model:{chain[-1].ref}")
        chain.append(record)
    return chain


def _verified_folder(record: ModelVersion, root: Path | None, location: Path | None = None) -> Path:
    folder = (location or folder_of(record.location, root, record.ref)).resolve()
    FileSet.from_json(json.loads(record.files)).verify(folder)
    return folder


def load(store: Store, ref: str, *, location: Path | None = None, root: Path | None = None) -> LoadedModel:
    """The registered version, loaded only after every file's hash matches the registry, its lineage's too.

    `location` reads the files from elsewhere (a copy); the hashes decide, not the path.
    `root` is the project a relative recorded location is under.
    """
    from qms.models.loaders import load_folder

    record, *ancestors = lineage_chain(store, ref)
    folder = _verified_folder(record, root, location)
    base = None
    if record.format == ModelFormat.LORA.value:
        base = load(store, ancestors[0].ref, root=root)  # re-checks the base and its own lineage
    else:
        for ancestor in ancestors:
            _verified_folder(ancestor, root)
    return load_folder(folder, ref=record.ref, digest=record.digest, base=base)
