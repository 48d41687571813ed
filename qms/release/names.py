"""Canonical member names: one spelling per file, the same file on every extractor.

Extractors disagree on names: Windows drops trailing dots and compares without case, macOS
folds Unicode forms, some strip `./` or turn `\\` into a folder. A name two tools could read
as two different files, or two names one tool could read as the same file, lets a bundle
show one thing to the verifier and another to a reader. So a bundle member's name is a plain
relative POSIX path in Unicode NFC, and no two names of one bundle share a folded form
(NFKC, case-folded) or are a file and a folder of each other.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

__all__ = ["fold", "name_problem", "clashes", "shown"]


def fold(name: str) -> str:
    """The form under which two names are the same file to some extractor (NFKC, case-folded)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def shown(name: str) -> str:
    """The name as safe plain text: invisible and control characters are escaped, never printed."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in name)


def _path_problem(name: str) -> str | None:
    if not name:
        return "an empty name"
    if not name.isprintable():
        return "a control, invisible or non-ASCII space character"
    if "\\" in name:
        return "a backslash (a folder separator on Windows)"
    if ":" in name:
        return "a colon (a drive or a stream on Windows)"
    if name.startswith("/"):
        return "an absolute path"
    if name.endswith("/"):
        return "a folder entry"
    for part in name.split("/"):
        if part in ("", ".", ".."):
            return "an empty, '.' or '..' path segment"
        if part[-1] in ". " or part[0] == " ":
            return "a segment that starts with a space or ends with a dot or space (Windows drops them)"
    return None


def name_problem(name: str) -> str | None:
    """Why `name` is not a canonical member name, or None when it is."""
    if problem := _path_problem(name):
        return problem
    if unicodedata.normalize("NFC", name) != name:
        return "not in Unicode NFC form"
    folded = fold(name)
    if problem := _path_problem(folded):
        return f"its folded form ({shown(folded)}) has {problem}"
    if folded.count("/") != name.count("/"):
        return f"a character that folds into a '/' ({shown(folded)})"
    return None


def clashes(names: Iterable[str]) -> list[tuple[str, str, str]]:
    """(name, earlier name, why) for each name that twins an earlier one or is a file and a folder with it."""
    files: dict[str, str] = {}
    folders: dict[str, str] = {}
    out: list[tuple[str, str, str]] = []
    for name in names:
        key = fold(name)
        if key in files:
            same = files[key] == name
            out.append((name, files[key], "a second member of the same name" if same else "a twin of another member's name"))
            continue
        if key in folders:
            out.append((name, folders[key], "a file whose name is also a folder of another member"))
            continue
        parents = key.split("/")[:-1]
        prefixes = ["/".join(parents[: i + 1]) for i in range(len(parents))]
        clash = next((p for p in prefixes if p in files), None)
        if clash is not None:
            out.append((name, files[clash], "a member inside a folder that is also a file"))
            continue
        files[key] = name
        for p in prefixes:
            folders.setdefault(p, name)
    return out
