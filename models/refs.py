"""Model references `name@version` and finding the version a reference names."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from qms.models.errors import ModelError
from qms.models.records import ModelVersion

__all__ = ["find_version", "parse_ref"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,49}$")


def parse_ref(ref: str) -> tuple[str, str]:
    """'name@version' -> (name, version), with a diagnosis for anything else."""
    name, sep, version = ref.partition("@")
    if not sep or not _NAME.match(name) or not _VERSION.match(version):
        raise ModelError(f"not a model reference: {ref!r}", where=ref,
                         hint="write name@version, e.g. cxr-triage-vit@1.0.0 (name: lowercase, digits, . _ -)")
    return name, version


def find_version(session: Session, ref: str) -> ModelVersion:
    """The version `ref` names, or a diagnosis saying it is not registered."""
    name, version = parse_ref(ref)
    found = session.exec(select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version)).first()
    if found is None:
        raise ModelError("no such model version in the registry", where=ref, hint="see `qms model list`")
    return found
