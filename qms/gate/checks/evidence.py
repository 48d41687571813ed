"""The evidence itself, re-hashed: model files against the registry, locked protocol files against their locks, dataset files against their manifests.

A record in the store is a claim; the bytes are the proof (DESIGN.md, the release gate).
A flipped byte in the weights, a locked protocol edited and committed, or a test image
edited after its manifest fails `qms verify` before anyone signs. The model's files are
read in full every time. In `qms verify` dataset and protocol file
digests are reused while a file's stat is unchanged (`qms.traceability.filestat`, git's
index rule), so a warm verify reads only what changed; the cache sits in the project, so
each entry is authenticated with a key kept in QMS_HOME (made with the first cache, never
in the project): an edited file with a forged entry is read again. Without the key every
file is read, and a release (`stat_cache` off) reads every file whatever the cache says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qms.errors import QmsError
from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.grants import RESTORE_HINT
from qms.gate.policy import Criterion
from qms.hashing import digest_of, normalised_text_digest
from qms.models import registry
from qms.models.fileset import FileSet
from qms.models.location import folder_of
from qms.traceability.cachetag import home_key
from qms.traceability.filestat import scan
from qms.yamlfile import parse
from qms.validation.manifest import DatasetManifest
from qms.validation.records import ProtocolLock, latest_lock

__all__ = ["EvidenceIntact", "INDEX_NAME"]

INDEX_NAME = "evidence-files.json"
"""The stat cache of evidence file digests, in the records folder's cache."""


@dataclass(frozen=True)
class _Expected:
    """A file whose bytes a record vouches for: which item, its sha256, and what to do when it differs."""

    item: str
    sha256: str
    what: str
    hint: str


class EvidenceIntact(Criterion[GateContext]):
    name = "evidence"
    title = "model, locked protocol and dataset files match their records"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        out: list[Finding] = []
        weights: dict[str, _Expected] = {}
        expected: dict[str, _Expected] = {}
        manifests: dict[Path, DatasetManifest] = {}  # protocols on one dataset share its manifest: parsed once
        self._model(ctx, weights, out)
        stated = _stated_versions(ctx.project.protocols_dir) if ctx.plan.protocols else {}
        for pid in ctx.plan.protocols:
            found = latest_lock(ctx.store, pid)
            if found is not None:  # an unlocked protocol is the validation criterion's finding
                self._protocol(ctx, found[0], expected, manifests, out)
                out.extend(self._twins(ctx, found[0], stated))
        key = home_key(ctx.identity_dir) if ctx.stat_cache else None
        index = ctx.project.records_dir / "cache" / INDEX_NAME if key is not None else None
        # The model's files are re-hashed every time: the version that ships is never judged by a cache an
        # insider holding QMS_HOME could re-sign; only the many dataset files use it.
        for group, cache in ((weights, None), (expected, index)):
            for d in scan(((p, p) for p in group), cache, keep_data=False, mac_key=key if cache else None):
                want = group[d.rel]
                if d.digest is None:
                    out.append(self.finding(want.item, f"{want.what} {d.path} is missing or unreadable", want.hint))
                elif d.digest != want.sha256:
                    out.append(self.finding(want.item, f"{want.what} {d.path} differs from its record (sha256 "
                                            f"{d.digest[:16]}..., recorded {want.sha256[:16]}...)", want.hint))
        return out, len(weights) + len(expected)

    def _model(self, ctx: GateContext, expected: dict[str, _Expected], out: list[Finding]) -> None:
        """Every registered file of the release's model version, and no other file in its folder."""
        record = registry.get(ctx.store, ctx.plan.model_ref)
        item = f"model:{record.ref}"
        folder = folder_of(record.location, ctx.project.root, record.ref)
        if not folder.is_dir():
            out.append(self.finding(item, f"the model folder {folder} does not exist",
                                    "restore the model folder exactly as it was registered"))
            return
        files = FileSet.from_json(json.loads(record.files))
        if files.digest != record.digest:  # the digest is what the registration event vouches for (`qms.gate.grants`)
            out.append(self.finding(item, f"the registered file list of {record.ref} no longer hashes to its digest "
                                    f"(sha256 {files.digest[:16]}..., recorded {record.digest[:16]}...): the "
                                    f"model_version row {record.id} was edited",
                                    RESTORE_HINT))
            return
        hint = "the model changed after registration: restore it, or register the files as a new version"
        for e in files.entries:
            expected[str(folder / e.path)] = _Expected(item, e.sha256, "model file", hint)
        registered = {e.path for e in files.entries}
        extra = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                       if p.is_file() and p.relative_to(folder).as_posix() not in registered)
        out.extend(self.finding(item, f"{folder / rel} is not part of the registered version", hint) for rel in extra)

    def _twins(self, ctx: GateContext, lock: ProtocolLock,
               stated: dict[tuple[str, str], list[tuple[Path, str]]]) -> list[Finding]:
        """Every other file of the protocols folder stating the locked id and version must hold the locked text: the lock
        row's path is vouched for by no event, so it could name an untouched copy while the protocol itself is edited."""
        locked = ctx.project.path(lock.path).resolve()
        return [self.finding(f"protocol:{lock.key}", f"{path} states protocol {lock.key} but differs from its lock "
                             f"(sha256 {sha256[:16]}..., locked {lock.text_sha256[:16]}...; the lock names {lock.path})",
                             "restore the locked text, or give the changed protocol a new version")
                for path, sha256 in stated.get((lock.protocol_id, lock.protocol_version), [])
                if sha256 != lock.text_sha256 and path.resolve() != locked]

    def _protocol(self, ctx: GateContext, lock: ProtocolLock, expected: dict[str, _Expected],
                  manifests: dict[Path, DatasetManifest], out: list[Finding]) -> None:
        """The protocol text as locked, the manifest as locked, and every dataset file as the manifest hashed it."""
        item = f"protocol:{lock.key}"
        text_path = ctx.project.path(lock.path)
        try:
            text_sha256 = normalised_text_digest(text_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            out.append(self.finding(item, f"the locked protocol file {text_path} cannot be read: {exc}",
                                    "restore the protocol file as it was locked"))
        else:
            if text_sha256 != lock.text_sha256:
                out.append(self.finding(item, f"the locked protocol file {text_path} was edited after the lock (sha256 "
                                        f"{text_sha256[:16]}..., locked {lock.text_sha256[:16]}...)",
                                        "restore the locked text (a committed edit is still an edit), or lock the "
                                        "change as a new protocol version"))
        content = json.loads(lock.content)
        if digest_of(content) != lock.content_sha256:  # the digest is what the lock's event and signature vouch for
            out.append(self.finding(item, f"the lock's stored protocol no longer hashes to its locked content digest "
                                    f"({lock.content_sha256[:16]}...): the validation_protocol_lock row {lock.id} was "
                                    "edited", RESTORE_HINT))
            return
        dataset = content.get("dataset", {})  # where the run reads it: relative to the project
        manifest_path = ctx.project.path(str(dataset.get("manifest", lock.manifest_path)))
        manifest = manifests.get(manifest_path) or manifests.setdefault(manifest_path, DatasetManifest.from_file(manifest_path))
        if manifest.sha256 != lock.manifest_sha256:
            out.append(self.finding(item, f"the dataset manifest {manifest_path} differs from the one locked (sha256 "
                                    f"{manifest.sha256[:16]}..., locked {lock.manifest_sha256[:16]}...)",
                                    "restore the manifest the protocol was locked with"))
            return
        data_root = ctx.project.path(str(dataset.get("root", ".")))
        hint = f"the dataset changed after manifest {lock.manifest_sha256[:12]}: restore the file from the locked dataset"
        for e in manifest.entries:
            expected[str(data_root / e.file)] = _Expected(item, e.sha256, "dataset file", hint)


def _stated_versions(folder: Path) -> dict[tuple[str, str], list[tuple[Path, str]]]:
    """The protocol files of the protocols folder by the (id, version) each states, with its text digest."""
    out: dict[tuple[str, str], list[tuple[Path, str]]] = {}
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        try:
            text = path.read_text(encoding="utf-8")
            doc = parse(text, str(path)).data
        except (OSError, UnicodeDecodeError, QmsError):
            continue  # not a readable protocol: `qms protocol check` names it
        if isinstance(doc, dict) and "id" in doc and "version" in doc:
            out.setdefault((str(doc["id"]), str(doc["version"])), []).append((path, normalised_text_digest(text)))
    return out
