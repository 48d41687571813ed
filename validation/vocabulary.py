"""The finding vocabulary a report labeller reads: findings with their phrases, and the cue words.

qmskit ships a CheXpert-style vocabulary of 14 observations (`validation/data/findings.yaml`,
where its format and provenance are written); a protocol may name its own file in the
same format. Reading validates everything and names file:line: a phrase listed twice, or
under two cue kinds, would make the labeller's answer depend on list order, so it is
refused. Phrases are stored normalised (lower case, single spaces), as the labeller
matches them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path

from qms.errors import QmsError
from qms.validation.protocolreader import ProtocolReader
from qms.yamlfile import PathKey, parse, read_text

__all__ = ["Cue", "DEFAULT", "Finding", "Side", "Vocabulary", "default_vocabulary", "normalise", "read_vocabulary"]

DEFAULT = "findings.yaml"
"""The shipped vocabulary, package data of `qms.validation` under data/."""

_SPACE = re.compile(r"\s+")
_DERIVED = "none_of_others"


class Cue(StrEnum):
    """What a cue phrase does to the findings in its scope (NegEx, Chapman et al. 2001; CheXpert 2019)."""

    NEGATION_PRE = "negation_pre"
    NEGATION_POST = "negation_post"
    UNCERTAINTY_PRE = "uncertainty_pre"
    UNCERTAINTY_POST = "uncertainty_post"
    PSEUDO = "pseudo"
    """Looks like a cue and is not one ("no change"): matched so that its words start no scope."""
    TERMINATION = "termination"
    """Ends a cue's scope ("but", "however")."""
    ALTERNATIVE = "alternative"
    """Names the findings on both sides as alternatives, each uncertain ("A versus B"); optional in a file."""


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    BILATERAL = "bilateral"


def normalise(text: str) -> str:
    """Lower case, every run of white space one space: the form phrases and texts are matched in."""
    return _SPACE.sub(" ", text.lower()).strip()


@dataclass(frozen=True)
class Finding:
    id: str
    name: str
    mentions: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()
    """Phrases stating the finding is absent ("heart size is normal")."""
    derived_except: tuple[str, ...] | None = None
    """Set for a derived finding (No Finding): positive when no other finding but these is positive or uncertain."""


@dataclass(frozen=True)
class Vocabulary:
    findings: tuple[Finding, ...]
    cues: dict[Cue, tuple[str, ...]]
    sides: dict[Side, tuple[str, ...]]
    modifiers: tuple[str, ...]
    prior_comparison: tuple[str, ...]
    source: str

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.findings)


def read_vocabulary(path: Path) -> Vocabulary:
    """A vocabulary file, validated; every error names file:line."""
    return _parse(ProtocolReader(parse(read_text(path, QmsError), str(path), QmsError)))


def default_vocabulary() -> Vocabulary:
    """The shipped CheXpert-style vocabulary of 14 observations."""
    ref = resources.files("qms.validation") / "data" / DEFAULT
    with resources.as_file(ref) as path:
        return read_vocabulary(path)


def _phrases(r: ProtocolReader, path: PathKey, seen: dict[str, PathKey], *, required: bool = True) -> tuple[str, ...]:
    """A list of phrases, each normalised and not already listed elsewhere in its namespace."""
    if not required and not r.has(path):
        return ()
    out = []
    for i, raw in enumerate(r.strings(path)):
        phrase = normalise(raw)
        if not phrase:
            raise r.fail((*path, i), "an empty phrase")
        if phrase in seen:
            raise r.fail((*path, i), f"phrase {phrase!r} is listed twice",
                         hint=f"first under {'.'.join(map(str, seen[phrase][:-1]))}")
        seen[phrase] = (*path, i)
        out.append(phrase)
    return tuple(out)


def _finding(r: ProtocolReader, i: int, seen: dict[str, PathKey], modifiers: tuple[str, ...]) -> Finding:
    p: PathKey = ("findings", i)
    r.keys(p, {"id", "name", "mentions", "negative", "derived", "except"})
    fid, name = r.text((*p, "id")), r.text((*p, "name"))
    if r.has((*p, "derived")):
        if r.get((*p, "derived"), str) != _DERIVED:
            raise r.fail((*p, "derived"), f"unknown derivation {r.get((*p, 'derived'), str)!r}", hint=_DERIVED)
        if r.has((*p, "mentions")) or r.has((*p, "negative")):
            raise r.fail(p, f"derived finding {fid!r} takes no phrases")
        return Finding(fid, name, derived_except=r.strings((*p, "except")) if r.has((*p, "except")) else ())
    # A phrase may name two findings ("consolidative opacity"), so each finding has its own namespace.
    own: dict[str, PathKey] = {}
    mentions = _phrases(r, (*p, "mentions"), own)
    negative = _phrases(r, (*p, "negative"), own, required=False)
    _check_modifiers(r, modifiers, own)
    for phrase, where in own.items():
        if phrase in seen:
            raise r.fail(where, f"phrase {phrase!r} is also a cue or modifier",
                         hint=f"under {'.'.join(map(str, seen[phrase][:-1]))}")
    return Finding(fid, name, mentions, negative)


def _check_modifiers(r: ProtocolReader, modifiers: tuple[str, ...], phrases: dict[str, PathKey]) -> None:
    """Modifiers are dropped from a text before matching, so a phrase holding one would never match."""
    dropped = set(modifiers)
    for phrase, where in phrases.items():
        held = dropped & set(phrase.split(" "))
        if held:
            raise r.fail(where, f"phrase {phrase!r} holds the modifier {sorted(held)[0]!r}, so it would never match",
                         hint="modifiers are dropped from a text before matching; leave it out of the phrase")


def _parse(r: ProtocolReader) -> Vocabulary:
    r.keys((), {"findings", "cues", "laterality", "modifiers", "prior_comparison"})
    r.keys(("cues",), {c.value for c in Cue})
    r.keys(("laterality",), {s.value for s in Side})
    words: dict[str, PathKey] = {}
    cues = {c: _phrases(r, ("cues", c.value), words, required=c is not Cue.ALTERNATIVE) for c in Cue}
    sides = {s: _phrases(r, ("laterality", s.value), words) for s in Side}
    modifiers = _phrases(r, ("modifiers",), {})
    _check_modifiers(r, modifiers, words)
    prior = _phrases(r, ("prior_comparison",), {})
    findings = tuple(_finding(r, i, words, modifiers) for i in range(len(r.get(("findings",), list))))
    if not findings:
        raise r.fail(("findings",), "no findings")
    ids = [f.id for f in findings]
    for i, f in enumerate(findings):
        if ids.index(f.id) != i:
            raise r.fail(("findings", i, "id"), f"finding id {f.id!r} appears twice")
        for j, other in enumerate(f.derived_except or ()):
            if other not in ids:
                raise r.fail(("findings", i, "except", j), f"{other!r} is not a finding id", hint=", ".join(ids))
    return Vocabulary(findings, cues, sides, modifiers, prior, r.doc.source)
