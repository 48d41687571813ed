"""A rule-based report labeller: each finding of a vocabulary positive, negative, uncertain or not mentioned.

In the manner of NegEx (Chapman et al. 2001) and the CheXpert labeller (Irvin et al. 2019),
without a parser: one regular expression finds, in one pass over the lower-cased text,
every finding phrase, cue phrase, laterality word and boundary (sentence end, comma), the
longest phrase winning at each position. Then, per sentence:

1. a pre-cue ("no", "without", "possible", "cannot exclude") governs the mentions after
   it until a termination cue ("but", "however", "and" before a determiner: "no effusion
   and the heart is enlarged"), the next pre-cue or the sentence's end; a mention that is
   itself a predication ("heart is enlarged") is governed only when it is the cue's first;
2. a post-cue ("is not seen", "cannot be excluded") governs the mentions before it back to
   the previous comma, termination cue or sentence start; a post-cue that opens its clause,
   with no mention before it there, governs forward like a pre-cue ("Resolved ... pneumonia");
3. an alternative cue ("versus") makes the mention just before it and those after it
   uncertain ("atelectasis versus consolidation"); a "?" set before a word ("?consolidation",
   "? infection") is a pre-cue of uncertainty, one closing a word ("pneumonia?") a post-cue;
4. a field ("Pneumothorax: none seen", "Oedema: no"): when the value after a colon holds a
   cue and no mention, the cue governs the field's mentions;
5. a mention under an uncertainty cue is uncertain, else under a negation cue negative,
   else positive; a `negative` phrase of the vocabulary is always negative;
6. a finding's label over the report: positive if any mention is, else uncertain if any
   is, else negative if any is, else not mentioned (CheXpert's aggregation); a derived
   finding (No Finding) is positive when no other finding, save its exceptions, is
   positive or uncertain.

Phrases are widened once, when the labeller is built, by two rules over the vocabulary's
own phrases: a predication ("heart is enlarged") also matches without its copula ("heart
enlarged") and negated ("heart not enlarged", a negative phrase); a negative phrase
naming "normal" also matches with "top-normal", "high-normal" or "upper normal" in its
place (negative) and with "borderline" (uncertain). A widened phrase never replaces a
phrase the vocabulary lists.

A positive mention's side is the nearest laterality word before it in its sentence with
no other mention between, else the nearest after it in its clause.

What it misses is measured on two held-out sets (tests/validation/data/) and a blind
corpus (tests/corpora/findings_heldout.py), with the misses listed in benchmarks/RESULTS.md
("Report labeller"): chiefly findings named in words outside the vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from qms.text_trie import alternation
from qms.validation.vocabulary import Cue, Side, Vocabulary, normalise

__all__ = ["Labeler", "ReportLabels", "Status"]


class Status(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    UNCERTAIN = "uncertain"
    NOT_MENTIONED = "not_mentioned"


_RANK = {Status.POSITIVE: 3, Status.UNCERTAIN: 2, Status.NEGATIVE: 1, Status.NOT_MENTIONED: 0}
_COMMA = ","
_COLON = ":"
_HEDGE = r"(?P<q>(?:(?<=[\s(/])|^)\? ?(?=\w))"
"""A "?" set before a word: a pre-cue of uncertainty."""
_QUERY = r"(?P<qp>(?<=\w)\?(?=\s|$))"
"""A "?" closing a word: a post-cue of uncertainty, then the sentence's end."""
_AND_CLAUSE = r"(?P<t>\band (?=(?:the|a|an|this|these|its)\b))"
""""and" before a determiner starts a new clause: it ends a cue's scope."""
_BOUNDARY = r"(?P<b>[.!?;:](?=\s|$)|,)"
_COPULA = re.compile(r"^(?P<s>.+?) (?P<c>is|are) (?P<p>.+)$")
_NORMAL = re.compile(r"\bnormal\b")
_NORMAL_DEGREES = ("top-normal", "high-normal", "top normal", "high normal", "upper normal")


@dataclass(frozen=True)
class ReportLabels:
    """One report's label per finding id, and the sides its positive mentions of each finding were on."""

    status: Mapping[str, Status]
    sides: Mapping[str, frozenset[Side]]


@dataclass
class _Mention:
    findings: tuple[str, ...]
    forced: Status | None
    pre: Cue | None
    clause: int
    order: int
    end: int = 0
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
        widened = _widened(named, negative)
        for phrase, kind in widened.items():
            self._kind.setdefault(phrase, kind)
        self._predications = {p for p in [*named, *negative, *widened] if self._kind[p][0] != "cue"
                              and (_COPULA.match(p) is not None or p in widened)}
        self._tokens = re.compile(rf"\b(?P<p>{alternation(self._kind)})\b|{_HEDGE}|{_QUERY}|{_AND_CLAUSE}|{_BOUNDARY}")
        self._modifiers = re.compile(rf"\b(?:{alternation(vocabulary.modifiers)})\b ?") if vocabulary.modifiers else None
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
        """Mentions with the cues that govern them and their sides (rules 1-4 and laterality of the docstring)."""
        out: list[_Mention] = []
        scope = _Scope()
        for tok in self._tokens.finditer(text):
            group = tok.lastgroup
            if group == "p":
                phrase = tok.group("p")
                kind, value = self._kind[phrase]
                if kind == "cue":
                    assert isinstance(value, Cue)
                    scope.cue(out, value, tok.start())
                elif kind == "side":
                    assert isinstance(value, Side)
                    scope.side(out, value)
                else:
                    assert isinstance(value, tuple)
                    scope.mention(out, value, _FORCED.get(kind), phrase in self._predications, tok.end())
            elif group == "b":
                scope.boundary(out, tok.group("b"))
            elif group == "q":
                scope.pre_cue(Cue.UNCERTAINTY_PRE)
            elif group == "qp":
                scope.post_cue(out, Cue.UNCERTAINTY_POST)
                scope.boundary(out, "?")
            else:
                scope.terminate()
        scope.boundary(out, ".")
        return out


class _Scope:
    """The state of one left-to-right pass: the governing pre-cue, clauses, the last side word, an open field."""

    def __init__(self) -> None:
        self.sentence_start = 0
        self.pre: Cue | None = None
        self.governed = 0
        self.clause = 0
        self.last_side: tuple[Side, int] | None = None
        self.field: list[_Mention] = []
        self.value: list[_Mention] | None = None
        self.value_cue: Cue | None = None

    def boundary(self, out: list[_Mention], mark: str) -> None:
        if self.value and self.value_cue is not None:
            post = Cue.UNCERTAINTY_POST if self.value_cue in _UNCERTAIN else Cue.NEGATION_POST
            for m in self.value:
                if m.post is not Cue.UNCERTAINTY_POST:
                    m.post = post
        self.value, self.value_cue = None, None
        if mark == _COLON:
            self.value = [m for m in out[self.sentence_start:] if m.clause == self.clause] or None
        self.clause += 1
        if mark != _COMMA:
            self.pre, self.last_side, self.sentence_start = None, None, len(out)

    def terminate(self) -> None:
        self.pre, self.clause = None, self.clause + 1

    def pre_cue(self, cue: Cue) -> None:
        self.pre, self.governed = cue, 0
        self._value_cue(cue)

    def _value_cue(self, cue: Cue) -> None:
        if self.value is not None and self.value_cue is None:
            self.value_cue = cue

    def _clause_mentions(self, out: list[_Mention]) -> list[_Mention]:
        """The mentions of the current clause, last first."""
        found = []
        for m in reversed(out[self.sentence_start:]):
            if m.clause != self.clause:
                break
            found.append(m)
        return found

    def post_cue(self, out: list[_Mention], cue: Cue) -> None:
        self._value_cue(cue)
        governed = self._clause_mentions(out)
        if not governed:  # a post-cue opening its clause governs forward ("Resolved ... pneumonia")
            self.pre_cue(Cue.NEGATION_PRE if cue is Cue.NEGATION_POST else Cue.UNCERTAINTY_PRE)
        for m in governed:
            if m.post is not Cue.UNCERTAINTY_POST:
                m.post = cue

    def cue(self, out: list[_Mention], cue: Cue, start: int) -> None:
        if cue is Cue.TERMINATION:
            self.terminate()
        elif cue in (Cue.NEGATION_PRE, Cue.UNCERTAINTY_PRE):
            self.pre_cue(cue)
        elif cue in (Cue.NEGATION_POST, Cue.UNCERTAINTY_POST):
            self.post_cue(out, cue)
        elif cue is Cue.ALTERNATIVE:
            before = self._clause_mentions(out)[:1]
            if before and before[0].end >= start - 1:  # "A versus B": A is the word just before
                before[0].post = Cue.UNCERTAINTY_POST
            self.pre_cue(Cue.UNCERTAINTY_PRE)

    def side(self, out: list[_Mention], side: Side) -> None:
        self.last_side = (side, len(out))
        prior = out[-1] if len(out) > self.sentence_start else None
        if prior is not None and prior.side is None and prior.clause == self.clause:
            prior.side = side

    def mention(self, out: list[_Mention], findings: tuple[str, ...], forced: Status | None, predication: bool,
                end: int) -> None:
        if predication and self.governed:  # "no effusion, heart is enlarged": a predication has its own polarity
            self.pre = None
        side = self.last_side[0] if self.last_side is not None and self.last_side[1] == len(out) else None
        out.append(_Mention(findings, forced, self.pre, self.clause, len(out), end=end, side=side))
        self.governed += self.pre is not None
        self.value = None


_FORCED = {"negative": Status.NEGATIVE, "uncertain": Status.UNCERTAIN}
_UNCERTAIN = (Cue.UNCERTAINTY_PRE, Cue.UNCERTAINTY_POST)


def _mention_status(m: _Mention) -> Status:
    if m.forced is not None:
        return m.forced
    if m.pre is Cue.UNCERTAINTY_PRE or m.post is Cue.UNCERTAINTY_POST:
        return Status.UNCERTAIN
    if m.pre is Cue.NEGATION_PRE or m.post is Cue.NEGATION_POST:
        return Status.NEGATIVE
    return Status.POSITIVE


def _widened(named: Mapping[str, Sequence[str]], negative: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The phrases the two widening rules of the docstring derive from the vocabulary's own (kind, finding ids)."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for phrase, ids in named.items():
        m = _COPULA.match(phrase)
        if m is not None:
            subject, copula, predicate = m.group("s", "c", "p")
            out.setdefault(f"{subject} {predicate}", ("mention", tuple(ids)))
            out.setdefault(f"{subject} {copula} not {predicate}", ("negative", tuple(ids)))
            out.setdefault(f"{subject} not {predicate}", ("negative", tuple(ids)))
    for phrase, ids in negative.items():
        m = _COPULA.match(phrase)
        forms = [phrase, f"{m.group('s')} {m.group('p')}"] if m is not None else [phrase]
        for form in forms:
            out.setdefault(form, ("negative", tuple(ids)))
            if _NORMAL.search(form):
                for degree in _NORMAL_DEGREES:
                    out.setdefault(_NORMAL.sub(degree, form), ("negative", tuple(ids)))
                out.setdefault(_NORMAL.sub("borderline", form), ("uncertain", tuple(ids)))
    return out
