"""Names of patients, relatives and staff (45 CFR §164.514(b)(2)(i)(A)).

Three kinds of evidence, combined: context (a title, a credential, "signed by", "d/w"),
a dictionary (a known first name followed by a known surname), and propagation (once a
name is found in a report, its other mentions in that report are found too).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from qms.deid.text import lexicon
from qms.deid.text.occurrences import WordIndex
from qms.deid.text.phi import PhiType, Span

_U, _L = lexicon.UPPER, lexicon.LOWER
_TOKEN = (rf"(?:[{_U}][{_L}]*[{_U}]?[{_L}]+|[{_U}]'[{_U}][{_L}]+|[{_U}][{_U}'\-]*[{_U}])"  # Smith, McKee, O'Hara, ROE
          rf"(?:-(?:(?:van|von|de|der|den|la|le|da|das|del|di|du|dos)[ \t])*[{_U}][{_U}{_L}']+)*")  # -Jones, -van Dyk
_SP = r"[ \t]+"  # a name never runs over a line break
_PARTICLE = (r"(?:(?:van|von|de|da|das|do|del|della|der|den|ter|ten|la|le|di|du|dos|bin|ibn|al|st\.|"
             r"Van|Von|De|Da|Del|Di|Du|La|Le|VAN|VON|DE|DA|DEL|DER|DEN|DI|DU|LA|LE|DOS)"
             rf"(?:{_SP}|(?=[{_U}])))")
_INITIAL = rf"(?:[{_U}]\.?{_SP})"
# A surname may be one capital after its particles ("de la O"), or carry its particle last ("Dussen van").
_SURNAME = rf"(?:{_TOKEN}|(?<=[a-z] )[{_U}](?![\w.'\-]))(?:{_SP}(?:van|von|de|der|den|ter|ten|la)(?![\w'\-]))?"
_FULL = rf"{_PARTICLE}{{0,2}}{_TOKEN}(?:{_SP}{_INITIAL}?{_PARTICLE}{{0,2}}{_SURNAME}){{0,2}}"
_LAST_FIRST = (rf"{_PARTICLE}{{0,2}}{_SURNAME}(?:{_SP}{_PARTICLE}{{0,2}}{_SURNAME})?,"  # Roe, / van der Berg,
               rf"{_SP}{_TOKEN}(?:{_SP}{_PARTICLE}{{0,2}}{_TOKEN})?(?:{_SP}[{_U}]\.?(?![\w']))?")  # Jane / Jane Q.
NAME = (rf"(?:{_LAST_FIRST}|(?:{_INITIAL}){{0,2}}{_FULL}|{_PARTICLE}{{1,2}}{_SURNAME}"
        rf"|[{_U}]\.[ ]?[{_U}]\.{_SP}{_TOKEN})")

_TITLE = r"(?:Dr|DR|Doctor|DOCTOR|Drs|Mr|MR|Mrs|MRS|Ms|MS|Miss|Mx|Prof|Professor|Nurse|Sister)\.?[ \t]+"
_CREDENTIAL = (r",?[ \t]+(?:M\.D\.|MD|D\.O\.|DO|R\.N\.|RN|NP|FNP|PA-C|PA|Ph\.?D\.?|RT\(R\)(?:\(CT\))?|RT|RRA|CRNA|MBBS|"
               r"FRCR|FRCPC|FACR|DNP|APRN|LPN|CNA|RDMS|RVT|RTR|RCIS|CNMT|MSN|BSN)(?![\w(])(?![ \t]*\d{5})")
# A strong lead is followed by a name; after a weak one ("per", "patient") a name needs evidence of its own.
_STRONG_LEAD = (r"(?i:electronically signed by|e-signed by|signed by|dictated by|transcribed by|read by|"
                r"interpreted by|verified by|approved by|attested by|attending(?: radiologist| physician)?:|"
                r"radiologist:|resident:|fellow:|technologist:|tech:|sonographer:|"
                r"referring(?: physician| provider| doctor| md)?:?|ordering(?: physician| provider| md)?:?|"
                r"ordered by|requested by|physician:|provider:|pcp:?|primary care(?: physician| provider)?:|cc:|"
                r"copy to|d/w|discussed with|discussed by telephone with|communicated (?:to|with)|called to|"
                r"spoke with|spoke to|relayed to|conveyed to|reported to|read ?back by|acknowledged by|"
                r"patient name:?|name:|mother|father|wife|husband|son|daughter|sister|brother|spouse|guardian|"
                r"caregiver|emergency contact:?|accompanied by)")
_WEAK_LEAD = (r"(?i:reviewed by|notified|paged|informed|per|patient|pt|contact|care of|c/o|by|attending|radiologist|"
              r"resident|fellow|physician|provider|name)")


@cache
def _stop() -> frozenset[str]:
    """Capitalised words of report prose and clinical vocabulary that are never names on their own."""
    words = {w.lower() for t in lexicon.clinical_terms() if t.category != "eponym"
             for w in re.findall(r"[A-Za-z']+", t.term) if len(w) > 1}
    words |= set("""a an and are as at be by for from has have in is it no none not of on or the this that
        these there to was were with without findings impression history comparison technique indication
        indications exam examination report final preliminary addendum clinical chest ct mri x-ray xray cxr
        portable view views heart lungs lung pleural bones bone soft tissues tissue abdomen pelvis head neck
        contrast study prior previous dictated signed electronically attending radiologist resident physician
        provider date time patient name mrn dob sex male female age accession referring ordering location
        department radiology emergency medicine hospital clinic center medical health unit service division
        section result results critical urgent recommendation recommendations follow-up followup conclusion
        summary procedure procedures reason normal stable unchanged new mild moderate severe small large
        trace focal diffuse please note also again seen there see call called discussed communicated
        notified telephone phone page paged via re regarding dr doctor md rn np pa do mr mrs ms miss
        monday tuesday wednesday thursday friday saturday sunday today yesterday tonight am pm utc est edt
        cst pdt pst pt hospitalist nurse staff team icu ed er or pacu floor ward bay room bed xr cr dx cta mra
        mr us pet nm kub abd spect dexa fluoro iv po ivc svc ett ngt ogt picc cvc ij rn np pa md do phd rt
        fnp crna aprn lpn msn bsn pa-c technique transcribed dictated reviewed read""".split())
    return frozenset(words | _MONTHS)


_MONTHS = frozenset("january february march april may june july august september october november december "
                    "jan feb mar apr jun jul aug sep sept oct nov dec".split())


def _removable(token: re.Match[str], text: str) -> bool:
    """A report word at the edge of a candidate goes, unless it is written as a known name."""
    word = token.group().rstrip(".")
    if word.lower() not in _stop() or _initial(token.group()) or text[token.end():token.end() + 1] == ",":
        return False
    before_number = re.match(r"[.,]?[ \t]*\d", text[token.end():]) is not None
    if word.lower() in _MONTHS:
        return before_number or not word[:1].isupper()
    known = word.lower() in lexicon.first_names() or word.lower() in lexicon.last_names()
    return not (known and word[:1].isupper() and not word.isupper() and not before_number)


_WORD_DOT = re.compile(rf"[{_U}{_L}][{_U}{_L}'\-]*\.?")


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Drop report words from both ends of a candidate; None when nothing name-like is left."""
    tokens = list(_WORD_DOT.finditer(text, start, end))  # within the candidate only: linear in the text
    while tokens and _removable(tokens[0], text):
        tokens.pop(0)
    while tokens and _removable(tokens[-1], text):
        tokens.pop()
    if not tokens or all(len(t.group().rstrip(".")) < 2 for t in tokens):
        return None
    last = tokens[-1].group()
    return tokens[0].start(), tokens[-1].end() - (1 if last.endswith(".") and len(last) > 2 else 0)


def _evidence(candidate: str, strong: bool) -> bool:
    """A candidate after a lead is a name if it looks like one: a known name, an initial, "Last, First"."""
    words = re.findall(rf"[{_U}{_L}][{_U}{_L}'\-]*\.?", candidate)
    known = any(w.rstrip(".").lower() in lexicon.person_names() for w in words)
    shaped = "," in candidate or any(_initial(w) for w in words)
    return known or shaped or (strong and len(words) >= 2)


def _initial(token: str) -> bool:
    return len(token) == 2 and token[0].isupper() and token[1] == "."


@cache
def _rules() -> tuple[re.Pattern[str], ...]:
    return (
        re.compile(rf"(?<![\w]){_TITLE}(?P<v>{NAME})"),
        re.compile(rf"(?<![\w])(?P<v>{NAME}){_CREDENTIAL}"),
        re.compile(rf"(?<![\w/]){_STRONG_LEAD}(?![\w])[ \t]*(?::|-|,)?[ \t]*(?:{_TITLE})?(?P<v>{NAME})"),
        re.compile(rf"(?<![\w/]){_WEAK_LEAD}(?![\w])[ \t]*(?::|-|,)?[ \t]*(?P<v>{NAME})"),
    )


_PAIR = re.compile(rf"(?<![\w'])(?P<a>{_TOKEN}){_SP}(?:{_INITIAL})?(?P<b>{_TOKEN})(?![\w'])")
_PAIR_REVERSED = re.compile(rf"(?<![\w'])(?P<b>{_TOKEN}),{_SP}(?P<a>{_TOKEN})(?![\w'])")


def _dictionary(text: str) -> Iterator[Span]:
    first, last, stop = lexicon.first_names(), lexicon.last_names(), _stop()
    for pattern in (_PAIR, _PAIR_REVERSED):
        for m in pattern.finditer(text):
            a, b = m.group("a").lower(), m.group("b").lower()
            if a in first and (b in last or b in first) and a not in stop and b not in stop:
                yield Span(m.start(), m.end(), PhiType.NAME, "dictionary")


def find(text: str) -> Iterator[Span]:
    """Every name found by context or dictionary, then every other mention of its words."""
    found: list[Span] = []
    for number, rule in enumerate(_rules()):
        for m in rule.finditer(text):
            trimmed = _trim(text, m.start("v"), m.end("v"))
            if trimmed and (number < 2 or _evidence(text[trimmed[0]:trimmed[1]], strong=number == 2)):
                found.append(Span(*trimmed, PhiType.NAME, "context"))
    found.extend(_dictionary(text))
    yield from found
    yield from _propagate(text, found)


def _propagate(text: str, found: list[Span]) -> Iterator[Span]:
    stop = _stop()
    words = {w.lower() for s in found for w in re.findall(rf"[{_U}{_L}][{_U}{_L}'\-]+", s.text(text))
             if len(w) > 2 and w.lower() not in stop}
    if not words:
        return
    for start, end in WordIndex(text, r"[\w'\-]+").words(words):
        if text[start].isupper():
            yield Span(start, end, PhiType.NAME, "propagated")
