"""The canonical-name rule for bundle members, checked against how POSIX, Windows and macOS read names."""

from __future__ import annotations

import os
import tempfile
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.release.archive import read_contents
from qms.release.names import clashes, name_problem, shown
from tests.release.zipcraft import entry, write

# Pieces that make names tools disagree on: case, Unicode forms and compatibility twins,
# separators, dots, spaces, controls and invisible characters.
PIECES = ["a", "B", "b", "data", "é", "e\u0301", "\u212a", "k", "K", "\uff4a", "j", "\u00df", "ss", "/", ".", "..",
          " ", "\\", ":", "\x00", "\t", "\u202e", "\u200b", "\u00a0", "\uff0f", "\u2025", "-"]
names = st.lists(st.sampled_from(PIECES), min_size=1, max_size=7).map("".join)


def _mac(name: str) -> str:
    """How a case-blind macOS volume compares names: decomposed and case-folded."""
    return unicodedata.normalize("NFD", name).casefold()


def _one_file_somewhere(a: str, b: str) -> bool:
    """Whether Windows or macOS would take `a` and `b` as one file, or one as a folder holding the other."""
    wa, wb = PureWindowsPath(a), PureWindowsPath(b)
    ma, mb = _mac(a), _mac(b)
    return (wa == wb or wa in wb.parents or wb in wa.parents or ma == mb
            or mb.startswith(ma + "/") or ma.startswith(mb + "/"))


@settings(max_examples=300, deadline=None)
@given(names)
def test_accepted_names_are_plain_relative_paths_everywhere(name: str) -> None:
    """A name the rule accepts reads as the same relative path on POSIX and Windows, normalised, and cannot leave its folder."""
    if name_problem(name) is not None:
        return
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    assert posix.as_posix() == windows.as_posix() == os.path.normpath(name) == name
    assert not posix.is_absolute() and not windows.anchor and ".." not in posix.parts and "." not in name.split("/")
    assert name.isprintable() and unicodedata.is_normalized("NFC", name)


def _spellings(name: str) -> list[str]:
    """Other spellings of `name` that some tool takes for the same file or for its folder."""
    return [name.upper(), name.lower(), name.swapcase(), name.casefold(), unicodedata.normalize("NFD", name),
            unicodedata.normalize("NFKC", name), name.replace("k", "\u212a"), name.replace("j", "\uff4a"),
            name + "/c", name.rsplit("/", 1)[0], "./" + name, name + ".", name + " ", name.replace("/", "\\")]


pairs = names.flatmap(lambda a: st.tuples(st.just(a), st.sampled_from(_spellings(a)) | names))


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_names_some_tool_takes_as_one_file_never_pass_together(pair: tuple[str, str]) -> None:
    """Two names that Windows or macOS would read as one file (or a file and its folder) are never both let in."""
    a, b = pair
    if _one_file_somewhere(a, b) or a == b:
        assert name_problem(a) or name_problem(b) or clashes([a, b])


@settings(max_examples=40, deadline=None)
@given(st.lists(names, min_size=1, max_size=4))
def test_the_reader_applies_the_rule_to_every_member(members: list[str]) -> None:
    """A zip of random member names reads cleanly exactly when every name is canonical and none clash; each refusal is a finding naming its member."""
    with tempfile.TemporaryDirectory() as tmp:
        contents = read_contents(write(Path(tmp) / "n.zip", [entry(n, n.encode()) for n in members]), lambda n: False)
    bad = {shown(n) for n in members if name_problem(n)}
    assert bool(contents.findings) == bool(bad or clashes(members))
    assert bad <= {f.where for f in contents.findings if f.check == "bundle.names"}


@pytest.mark.parametrize("name", ["./a", "a//b", "a\\b", "/a", "a/../b", "a/./b", "a/", "", "a\x00b", "c:a", "a.",
                                  "a /b", "e\u0301", "a\u202eb", "a\uff0fb", "a/\u2025/b"])
def test_each_non_canonical_form_is_refused(name: str) -> None:
    """Each way of spelling a path other than canonically is refused on its own (dot segments, separators, drives, forms)."""
    assert name_problem(name)


@pytest.mark.parametrize("name", ["documents/anomaly-list.pdf", "audit/checkpoint.json", "data/r\u00e9sum\u00e9.json",
                                  "a/b/c.d.e", ".hidden"])
def test_ordinary_names_are_canonical(name: str) -> None:
    """The names a release writes, non-ASCII letters in NFC included, are canonical."""
    assert name_problem(name) is None


def test_shown_names_escape_invisible_characters() -> None:
    """A name is shown with its control and invisible characters escaped, so a finding cannot spoof a terminal."""
    assert shown("a\u202eb\x00") == "a\\u202eb\\u0000"
