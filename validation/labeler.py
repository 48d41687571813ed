"""A rule-based report labeller: each finding of a vocabulary positive, negative, uncertain or not mentioned.

In the manner of NegEx (Chapman et al. 2001) and the CheXpert labeller (Irvin et al. 2019),
without a parser: one regular expression finds, in one pass over the lower-cased text,
every finding phrase, cue phrase, laterality word and boundary (sentence end, comma), the
longest phrase winning at each position. Then, per sentence:

1. a pre-cue ("no", "without", "possible", "cannot exclude") governs the mentions after
   it until a termination cue ("but", "however"), the next pre-cue or the sentence's end;
2. a post-cue ("is not seen", "cannot be excluded") governs the mentions before it back to
   the previous comma, termination cue or sentence start;
3. a mention under an uncertainty cue is uncertain, else under a negation cue negative,
   else positive; a `negative` phrase of the vocabulary is always negative;
4. a finding's label over the report: positive if any mention is, else uncertain if any
   is, else negative if any is, else not mentioned (CheXpert's aggregation); a derived
   finding (No Finding) is positive when no other finding, save its exceptions, is
   positive or uncertain.

A positive mention's side is the nearest laterality word before it in its sentence with
no other mention between, else the nearest after it in its clause.

What it misses (measured on a held-out set, tests/validation/data/heldout_reports.yaml):
negation across a conjunction without a termination cue ("no effusion and the heart is
enlarged" negates both), list negation across commas under a post-cue, and findings named
in words outside the vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from qms.validation.vocabulary import Cue, Side, Vocabulary, normalise

__all__ = ["Labeler", "ReportLabels", "Status"]


class Status(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    UNCERTAIN = "uncertain"
    NOT_MENTIONED = "not_mentioned"


_RANK = {Status.POSITIVE: 3, Status.UNCERTAIN: 2, Status.NEGATIVE: 1, Status.NOT_MENTIONED: 0}
_SENTENCE = "."
_COMMA = ","
_BOUNDARY = r"(?P<b>[.!?;:](?=\s|$)|,)"


@dataclass(frozen=True)
class ReportLabels:
    """One report's label per finding id, and the sides its positive mentions of each finding were on."""

    status: Mapping[str, Status]
    sides: Mapping[str, frozenset[Side]]


@dataclass
class _Mention:
    findings: tuple[str, ...]
    forced_negative: bool
    pre: Cue | None
    clause: int
    order: int
    post: Cue | None = None
    side: Side | None = None


class Labeler:
    """Labels report texts against one vocabulary; build once, then label many (the regex is compiled once)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._kind: dict[str, tuple[str, object]] = {}
        for cue, phrases in vocabulary.cues.items():
            self._kind.update({p: ("cue", cue) for p in phrases})
        for side, phrases in vocabulary.sides.items():
            self._kind.update({p: ("side", side) for p in phrases})
        named: dict[str, list[str]] = {}
        negative: dict[str, list[str]] = {}
        for f in vocabulary.findings:
            for p in f.mentions:
                named.setdefault(p, []).append(f.id)
            for p in f.negative:
                negative.setdefault(p, []).append(f.id)
        self._kind.update({p: ("mention", tuple(ids)) for p, ids in named.items()})
        self._kind.update({p: ("negative", tuple(ids)) for p, ids in negative.items()})
        self._tokens = re.compile(rf"\b(?P<p>{_alternation(self._kind)})\b|{_BOUNDARY}")
        self._modifiers = re.compile(rf"\b(?:{_alternation(vocabulary.modifiers)})\b ?") if vocabulary.modifiers else None
        self._derived = [f for f in vocabulary.findings if f.derived_except is not None]

    def label(self, text: str) -> ReportLabels:
        """Every finding of the vocabulary for one report."""
        clean = normalise(text)
        if self._modifiers is not None:
            clean = self._modifiers.sub("", clean)
        mentions = self._mentions(clean)
        status: dict[str, Status] = {f.id: Status.NOT_MENTIONED for f in self.vocabulary.findings}
        sides: dict[str, set[Side]] = {}
        for m in mentions:
            s = _mention_status(m)
            for fid in m.findings:
                if _RANK[s] > _RANK[status[fid]]:
                    status[fid] = s
                if s is Status.POSITIVE and m.side is not None:
                    sides.setdefault(fid, set()).add(m.side)
        for f in self._derived:
            others = (fid for fid in status if fid != f.id and fid not in (f.derived_except or ()))
            flagged = any(status[fid] in (Status.POSITIVE, Status.UNCERTAIN) for fid in others)
            status[f.id] = Status.NEGATIVE if flagged else Status.POSITIVE
        return ReportLabels(status, {k: frozenset(v) for k, v in sides.items()})

    def label_many(self, texts: Iterable[str]) -> list[ReportLabels]:
        return [self.label(t) for t in texts]

    def _mentions(self, text: str) -> list[_Mention]:
        """Mentions with the cues that govern them and their sides (rules 1-2 and laterality of the docstring)."""
        out: list[_Mention] = []
        sentence_start = 0
        pre: Cue | None = None
        clause = 0
        last_side: tuple[Side, int] | None = None
        for tok in self._tokens.finditer(text):
            boundary = tok.group("b")
            if boundary is not None:
                clause += 1
                if boundary != _COMMA:
                    pre, last_side, sentence_start = None, None, len(out)
                continue
            kind, value = self._kind[tok.group("p")]
            if kind == "cue":
                assert isinstance(value, Cue)
                if value is Cue.TERMINATION:
                    pre, clause = None, clause + 1
                elif value in (Cue.NEGATION_PRE, Cue.UNCERTAINTY_PRE):
                    pre = value
                elif value in (Cue.NEGATION_POST, Cue.UNCERTAINTY_POST):
                    for m in reversed(out[sentence_start:]):
                        if m.clause != clause:
                            break
                        if m.post is not Cue.UNCERTAINTY_POST:
                            m.post = value
            elif kind == "side":
                assert isinstance(value, Side)
                last_side = (value, len(out))
                prior = out[-1] if len(out) > sentence_start else None
                if prior is not None and prior.side is None and prior.clause == clause:
                    prior.side = value
            else:
                assert isinstance(value, tuple)
                side = last_side[0] if last_side is not None and last_side[1] == len(out) else None
                out.append(_Mention(value, kind == "negative", pre, clause, len(out), side=side))
        return out


def _mention_status(m: _Mention) -> Status:
    if m.forced_negative:
        return Status.NEGATIVE
    if m.pre is Cue.UNCERTAINTY_PRE or m.post is Cue.UNCERTAINTY_POST:
        return Status.UNCERTAIN
    if m.pre is Cue.NEGATION_PRE or m.post is Cue.NEGATION_POST:
        return Status.NEGATIVE
    return Status.POSITIVE


def _alternation(phrases: Iterable[str]) -> str:
    """Phrases as one alternation, longest first so the longest wins at a position."""
    return "|".join(re.escape(p) for p in sorted(phrases, key=lambda p: (-len(p), p)))
