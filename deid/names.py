"""Output names without PHI: how `output_names: "mirror"` names a file, and the check verify runs on names.

Rule (issue 19): every component of an input's relative path (each folder and the file name)
goes through the PHI detector (`qms.deid.text.find_phi`, with the file's own identifying values
as hints, `_` read as a space) and through the comparison with those values (an id anywhere
in it, letters and digits only; a name word as one of its words, or inside it when at least four
letters long). A component in which either finds something is replaced by its keyed pseudonym
(`DeidKey.pseudonym`), its extension kept when the extension itself is clean. One key maps one
component the same way in every batch, so a study split across batches mirrors into the same
folders; the folder structure is kept. A component where nothing is found is kept as it is:
`train/site-c/0288_1.dcm` stays, and labels keyed by it still match.

The manifest in OUT names each file by its output name and a keyed digest of its source path
(`source_digest`), never by the source's name; only the quarantine folder, which holds PHI by
design, keeps source names.
"""

from __future__ import annotations

import re

from pydicom.dataset import Dataset

from qms.deid.header_text import HINT_TAGS, FileHints, content_names
from qms.deid.keying import DeidKey
from qms.deid.peek import stored, text, value_texts
from qms.deid.text import Hints, find_phi

__all__ = ["dataset_hints", "holds_phi", "mirrored", "source_digest"]

_SEPARATORS = re.compile(r"_+")
"""Underscores join words for the detector (`\\w`): read as spaces; `-` and `.` stay (dates, phone numbers)."""
_WORD = re.compile(r"[A-Z0-9]+")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")
_MIN_ID, _MIN_INNER_NAME = 4, 4
_PATIENT_ID = 0x00100020


def holds_phi(component: str, hints: FileHints | None, own: frozenset[str] = frozenset()) -> bool:
    """Whether one path component holds PHI: the detector finds some, or it holds one of the file's own values.

    `own`: values of the output itself (its new UIDs, upper case) that a name may repeat: not findings.
    """
    spaced = _SEPARATORS.sub(" ", component)
    if any(spaced[s.start:s.end].upper() not in own for s in find_phi(spaced, hints.hints if hints else Hints())):
        return True
    if hints is None:
        return False
    upper = component.upper()
    words, letters = set(_WORD.findall(upper)), _NOT_ALNUM.sub("", upper)
    ids = {_NOT_ALNUM.sub("", i.upper()) for i in hints.hints.identifiers}
    return any(len(i) >= _MIN_ID and i in letters for i in ids) or any(
        w in words or (len(w) >= _MIN_INNER_NAME and w.isalpha() and w in upper) for w in hints.words)


def mirrored(rel: str, key: DeidKey, hints: FileHints | None) -> str:
    """`rel` (a POSIX relative path) with each component that holds PHI replaced by its keyed pseudonym."""
    return "/".join(_component(part, key, hints) for part in rel.split("/"))


def _component(part: str, key: DeidKey, hints: FileHints | None) -> str:
    if not holds_phi(part, hints):
        return part
    found = _EXTENSION.search(part)
    extension = found.group(0) if found and found.start() > 0 and not holds_phi(found.group(0)[1:], hints) else ""
    return key.pseudonym("file name", part) + extension


def source_digest(key: DeidKey, rel: str) -> str:
    """A keyed digest of a source's relative path: tells one source from another without naming it."""
    return key.mac("source path", rel).hex()[:32]


def dataset_hints(ds: Dataset) -> FileHints:
    """The detector's hints from a dataset's own identifying values (as `qms.deid.dataset` gathers them)."""
    return FileHints.of(text(ds, _PATIENT_ID), {t: value_texts(ds, stored(ds, t)) for t in HINT_TAGS},
                        content_names(ds))
