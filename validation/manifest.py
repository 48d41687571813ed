"""The dataset manifest: which files, whose, what their reference labels and subgroups are.

A manifest is the dataset's identity (VALIDATION.md, "dataset identity"): every file's
relative path and sha256, the pseudonymous patient and study ids read from the
de-identified DICOM headers, the reference labels (with each reader's read behind them,
when the labels table has them), the subgroup attributes and the split, and the cases
assessed but excluded (file, patient pseudonym, reason: the flow diagram's exclusions),
sealed by a sha256 over the canonical JSON of all of it. A value that exists is valid:
the constructor checks every entry, and `from_file` refuses a manifest whose stored hash
does not match its content.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from qms.errors import CheckFailed, QmsError
from qms.hashing import digest_of, sha256_file

__all__ = ["AttributeValue", "DatasetManifest", "Exclusion", "ManifestEntry", "SCHEMA", "posix_path"]

SCHEMA = "qms.dataset-manifest/1"

AttributeValue = str | float | None
"""A subgroup attribute: text (sex, site, manufacturer), a number (age in years), or unknown."""

_HEX = frozenset("0123456789abcdef")


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


def posix_path(file: str) -> str:
    """`Path(file).as_posix()` on POSIX (empty and '.' parts dropped) without pathlib, which interns every part
    of every name: a manifest of millions of files keeps the interpreter's table of interned strings growing."""
    parts = [p for p in file.split("/") if p and p != "."]
    lead = "//" if file.startswith("//") and not file.startswith("///") else "/" if file.startswith("/") else ""
    return lead + "/".join(parts) if parts or lead else "."


def _check_path(file: str, what: str, where: str) -> None:
    if not file or file.startswith("/") or ".." in file.split("/") or "\\" in file:
        raise QmsError(f"{what} {file!r} must be relative, with '/' separators, inside the dataset", where=where)


@dataclass(frozen=True)
class ManifestEntry:
    """One file of the dataset: where it is, its hash, whose it is, its labels and subgroups."""

    file: str
    sha256: str
    patient_id: str
    study_uid: str
    labels: Mapping[str, int | None] = field(default_factory=dict)
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)
    readers: Mapping[str, Mapping[str, int | None]] = field(default_factory=dict)
    """Per-reader reads behind the reference label: {label: {pseudonymous reader id: 0, 1 or None}}."""

    def __post_init__(self) -> None:
        where = self.file or "(entry without a file)"
        _check_path(self.file, "file path", where)
        if not _is_sha256(self.sha256):
            raise QmsError(f"sha256 {self.sha256!r} is not 64 lowercase hex digits", where=where)
        if not self.patient_id:
            raise QmsError("no pseudonymous patient id (PatientID, tag (0010,0020))", where=where)
        if not self.study_uid:
            raise QmsError("no study id (StudyInstanceUID, tag (0020,000D))", where=where)
        for name, value in self.labels.items():
            if value not in (0, 1, None) or isinstance(value, bool):
                raise QmsError(f"label {name!r} is {value!r}; a label is 0, 1 or missing (null)", where=where)
        for name, attr in self.attributes.items():
            if attr is not None and not isinstance(attr, (str, float, int)) or isinstance(attr, bool):
                raise QmsError(f"attribute {name!r} is {attr!r}; expected text, a number or null", where=where)
        for name, reads in self.readers.items():
            if name not in self.labels or not isinstance(reads, Mapping):
                raise QmsError(f"reader reads for {name!r}, which is not a label of the entry", where=where)
            for reader, value in reads.items():
                if not reader or value not in (0, 1, None) or isinstance(value, bool):
                    raise QmsError(f"reader {reader!r} read {name!r} as {value!r}; a read is 0, 1 or missing (null)",
                                   where=where)
        object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))
        object.__setattr__(self, "readers", MappingProxyType({k: MappingProxyType(dict(v)) for k, v in self.readers.items()}))

    def to_json(self) -> dict[str, Any]:
        """`readers` only when there are reads, so manifests without them keep their hash."""
        out = {"file": self.file, "sha256": self.sha256, "patient_id": self.patient_id,
               "study_uid": self.study_uid, "labels": dict(self.labels), "attributes": dict(self.attributes)}
        if self.readers:
            out["readers"] = {k: dict(v) for k, v in self.readers.items()}
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> ManifestEntry:
        try:
            return cls(file=data["file"], sha256=data["sha256"], patient_id=data["patient_id"],
                       study_uid=data["study_uid"], labels=data.get("labels", {}),
                       attributes=data.get("attributes", {}), readers=data.get("readers", {}))
        except KeyError as exc:
            raise QmsError(f"manifest entry lacks {exc.args[0]!r}", where=where) from exc
        except (TypeError, AttributeError) as exc:
            raise QmsError(f"malformed manifest entry: {exc}", where=where) from exc


@dataclass(frozen=True)
class Exclusion:
    """A case of the split that was assessed and excluded before analysis, with the protocol reason."""

    file: str
    reason: str
    patient_id: str | None = None
    """The pseudonymous PatientID of the de-identified header; None when the file could not be read."""

    def __post_init__(self) -> None:
        where = self.file or "(exclusion without a file)"
        _check_path(self.file, "excluded file path", where)
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise QmsError("an exclusion needs its reason", where=where)
        if self.patient_id is not None and (not isinstance(self.patient_id, str) or not self.patient_id):
            raise QmsError(f"excluded patient id {self.patient_id!r} must be text or null", where=where)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "reason": self.reason, "patient_id": self.patient_id}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> Exclusion:
        try:
            return cls(file=data["file"], reason=data["reason"], patient_id=data.get("patient_id"))
        except KeyError as exc:
            raise QmsError(f"manifest exclusion lacks {exc.args[0]!r}", where=where) from exc
        except (TypeError, AttributeError) as exc:
            raise QmsError(f"malformed manifest exclusion: {exc}", where=where) from exc


@dataclass(frozen=True)
class DatasetManifest:
    """A dataset split, sealed by the sha256 of its canonical JSON (STYLE habit 12)."""

    name: str
    split: str
    label_names: tuple[str, ...]
    attribute_names: tuple[str, ...]
    entries: tuple[ManifestEntry, ...]
    description: str = ""
    exclusions: tuple[Exclusion, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise QmsError("a manifest needs a name")
        if not self.entries:
            raise QmsError(f"manifest {self.name!r} has no files", hint="check the split and the labels table")
        seen: set[str] = set()
        for e in self.entries:
            if e.file in seen:
                raise QmsError("file listed twice in the manifest", where=e.file)
            seen.add(e.file)
            if set(e.labels) != set(self.label_names):
                raise QmsError(f"labels {sorted(e.labels)} differ from the manifest's {list(self.label_names)}",
                               where=e.file)
            if set(e.attributes) != set(self.attribute_names):
                raise QmsError(f"attributes {sorted(e.attributes)} differ from the manifest's "
                               f"{list(self.attribute_names)}", where=e.file)
        for x in self.exclusions:
            if x.file in seen:
                raise QmsError("file listed twice in the manifest (included or excluded)", where=x.file)
            seen.add(x.file)
        object.__setattr__(self, "entries", tuple(sorted(self.entries, key=lambda e: e.file)))
        object.__setattr__(self, "exclusions", tuple(sorted(self.exclusions, key=lambda x: x.file)))
        object.__setattr__(self, "_sha256", digest_of(self._body()))

    def _body(self) -> dict[str, Any]:
        """`exclusions` only when there are some, so manifests without them keep their hash (schema 1 either way)."""
        body = {"schema": SCHEMA, "name": self.name, "split": self.split, "description": self.description,
                "labels": list(self.label_names), "attributes": list(self.attribute_names),
                "entries": [e.to_json() for e in self.entries]}
        if self.exclusions:
            body["exclusions"] = [x.to_json() for x in self.exclusions]
        return body

    @property
    def sha256(self) -> str:
        """sha256 over the canonical JSON of everything but the hash itself."""
        return str(object.__getattribute__(self, "_sha256"))

    @property
    def patient_ids(self) -> frozenset[str]:
        return frozenset(e.patient_id for e in self.entries)

    @property
    def study_uids(self) -> frozenset[str]:
        return frozenset(e.study_uid for e in self.entries)

    @property
    def file_hashes(self) -> dict[str, str]:
        return {e.file: e.sha256 for e in self.entries}

    def select(self, indices: Iterable[int]) -> DatasetManifest:
        """The manifest of the entries at `indices` (in manifest order; exclusions stay with the whole)."""
        return DatasetManifest(name=self.name, split=self.split, label_names=self.label_names,
                               attribute_names=self.attribute_names, description=self.description,
                               entries=tuple(self.entries[i] for i in sorted(set(indices))))

    def to_json(self) -> dict[str, Any]:
        return {**self._body(), "sha256": self.sha256}

    def dumps(self) -> str:
        """The file form: indented JSON, so a reviewer can read a diff of it."""
        return json.dumps(self.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> DatasetManifest:
        """Parse and check; refuses a manifest whose stored hash does not match its content."""
        if data.get("schema") != SCHEMA:
            raise QmsError(f"not a dataset manifest (schema {data.get('schema')!r}, expected {SCHEMA!r})", where=where)
        try:
            raw_entries = data["entries"]
            manifest = cls(
                name=data["name"], split=data["split"], description=data.get("description", ""),
                label_names=tuple(data["labels"]), attribute_names=tuple(data["attributes"]),
                entries=tuple(ManifestEntry.from_json(e, f"{where}: entries[{i}]") for i, e in enumerate(raw_entries)),
                exclusions=tuple(Exclusion.from_json(x, f"{where}: exclusions[{i}]")
                                 for i, x in enumerate(data.get("exclusions", []))),
            )
        except KeyError as exc:
            raise QmsError(f"manifest lacks {exc.args[0]!r}", where=where) from exc
        stored = data.get("sha256")
        if stored != manifest.sha256:
            raise CheckFailed(
                f"the manifest's content does not match its stored hash (stored {stored}, content {manifest.sha256})",
                where=where, hint="the manifest was edited after it was created; recreate it with `qms dataset create`",
            )
        return manifest

    @classmethod
    def from_file(cls, path: Path) -> DatasetManifest:
        """The JSON form (`qms.validation.filetable.read_manifest` reads either form)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise QmsError(f"cannot read the manifest: {exc.strerror}", where=str(path)) from exc
        except ValueError as exc:
            raise QmsError(f"the manifest is not JSON: {exc}", where=str(path)) from exc
        if not isinstance(data, dict):
            raise QmsError("the manifest is not a JSON object", where=str(path))
        return cls.from_json(data, str(path))

    def verify_files(self, root: Path, files: Iterable[str] | None = None) -> None:
        """Check that each file under `root` still has the hash the manifest recorded; name the first that differs."""
        wanted = set(files) if files is not None else None
        for e in self.entries:
            if wanted is not None and e.file not in wanted:
                continue
            path = root / e.file
            if not path.is_file():
                raise CheckFailed("a file of the manifest is missing", where=str(path),
                                  hint=f"the manifest {self.sha256[:12]} lists it; restore the dataset")
            found = sha256_file(path)
            if found != e.sha256:
                raise CheckFailed(f"file content differs from the manifest (sha256 {found}, manifest {e.sha256})",
                                  where=str(path), hint="the dataset changed after the manifest was made")
