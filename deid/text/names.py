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

__all__ = ["DICOM_NAME", "find", "NAME", "reads_as_word", "report_words"]

_U, _L = lexicon.UPPER, lexicon.LOWER
_TOKEN = (rf"(?:[{_U}][{_L}]*[{_U}]?[{_L}]+|[{_U}]'[{_U}][{_L}]+|[{_U}][{_U}'\-]*[{_U}])"  # Smith, McKee, O'Hara, ROE
          rf"(?:-(?:(?:van|von|de|der|den|la|le|da|das|del|di|du|dos)[ \t])*[{_U}][{_U}{_L}']+)*")  # -Jones, -van Dyk
_SP = r"[ \t]+"  # a name never runs over a line break
_PARTICLE = (r"(?:(?:van|von|de|da|das|do|del|della|der|den|ter|ten|la|le|di|du|dos|bin|ibn|al|st\.|"
             r"Van|Von|De|Da|Del|Di|Du|La|Le|VAN|VON|DE|DA|DEL|DER|DEN|DI|DU|LA|LE|DOS)"
             rf"(?:{_SP}|(?=[{_U}]))|(?:al|el|Al|El|AL|EL)-(?=[{_U}]))")
_INITIAL = rf"(?:[{_U}]\.?{_SP})"
# A surname may be one capital after its particles ("de la O"), or carry its particle last ("Dussen van").
_SURNAME = rf"(?:{_TOKEN}|(?<=[a-z] )[{_U}](?![\w.'\-]))(?:{_SP}(?:van|von|de|der|den|ter|ten|la)(?![\w'\-]))?"
_FULL = rf"{_PARTICLE}{{0,2}}{_TOKEN}(?:{_SP}{_INITIAL}?{_PARTICLE}{{0,2}}{_SURNAME}){{0,2}}"
_LAST_FIRST = (rf"{_PARTICLE}{{0,2}}{_SURNAME}(?:{_SP}{_PARTICLE}{{0,2}}{_SURNAME})?,"  # Roe, / van der Berg,
               rf"{_SP}{_TOKEN}(?:{_SP}{_PARTICLE}{{0,2}}{_TOKEN})?(?:{_SP}[{_U}]\.?(?![\w']))?")  # Jane / Jane Q.
_CAPS_LAST_FIRST = rf"[{_U}][{_U}'\-]+,[{_U}][{_U}'\-]+(?:[ \t][{_U}]\.?(?![\w']))?"  # RIS: MILLER,GINA A
NAME = (rf"(?:{_CAPS_LAST_FIRST}|{_LAST_FIRST}|(?:{_INITIAL}){{0,2}}{_FULL}|{_PARTICLE}{{1,2}}{_SURNAME}"
        rf"|[{_U}]\.[ ]?[{_U}]\.{_SP}{_TOKEN})")

_TITLE = r"(?:Dr|DR|Doctor|DOCTOR|Drs|Mr|MR|Mrs|MRS|Ms|MS|Miss|Mx|Prof|Professor|Nurse|Sister)\.?[ \t]+"
_CREDENTIAL = (r",?[ \t]+(?:M\.D\.|MD|D\.O\.|DO|R\.N\.|RN|NP|FNP|PA-C|PA|Ph\.?D\.?|RT\(R\)(?:\(CT\))?|RT|RRA|CRNA|MBBS|"
               r"FRCR|FRCPC|FACR|DNP|APRN|LPN|CNA|RDMS|RVT|RTR|RCIS|CNMT|MSN|BSN)(?![\w(])(?![ \t]*\d{5})")
# A strong lead is followed by a name; after a weak one ("per", "patient") a name needs evidence of its own.
_STRONG_LEAD = (r"(?i:electronically signed by|e-signed by|signed by|dictated by|transcribed by|read by|"
                r"interpreted by|verified by|approved by|attested by|attending(?: radiologist| physician)?:|"
                r"radiologist:|resident:|fellow:|technologist:?|tech:|sonographer:?|"
                r"referring(?: physician| provider| doctor| md)?:?|ordering(?: physician| provider| md)?:?|"
                r"ordered by|requested by|physician:|provider:|pcp:?|primary care(?: physician| provider)?:|cc:|"
                r"copy to|d/w|discussed with|discussed by telephone with|communicated (?:to|with)|called to|"
                r"spoke with|spoke to|relayed to|conveyed to|reported to|read ?back by|acknowledged by|"
                r"patient name:?|name:|emergency contact:?|accompanied by)")
# A relative is named by one word as often as by two ("lives with her daughter Rose").
_KIN_LEAD = (r"(?:mother|father|wife|husband|son|daughter|sister|brother|spouse|guardian|caregiver|niece|nephew|"
             r"grandson|granddaughter|grandmother|grandfather|partner|friend|neighbou?r)")
# A label names what follows: after "ATT:" or "Re:" one surname is a name.
_LABEL_LEAD = (r"(?i:(?:patient|pt)[ \t]*name|name|re|guarantor|att|attending(?:[ \t]+radiologist|[ \t]+physician)?|"
               r"ord(?:ering)?[ \t]*(?:phys(?:ician)?|provider|md)|ref(?:erring)?[ \t]*(?:phys(?:ician)?|provider|md)|"
               r"read[ \t]+by|transcr(?:iptionist|ibed[ \t]+by)?|dictated[ \t]+by|signed[ \t]+by|sonographer|"
               r"technologist|tech|radiologist|resident|fellow|physician|provider|pcp|cc|emergency[ \t]+contact|"
               r"patient|pt|contact|guardian|next[ \t]+of[ \t]+kin)[ \t]*:")
_INITIALS = rf"(?:[{_U}]\.){{2,4}}"
_WEAK_LEAD = (r"(?i:reviewed by|notified|paged|informed|per|patient|pt|contact|care of|c/o|by|attending|radiologist|"
              r"resident|fellow|physician|provider|name)")


@cache
def report_words() -> frozenset[str]:
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
        monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun today yesterday tonight am pm utc est edt
        cst pdt pst pt hospitalist nurse staff team icu ed er or pacu floor ward bay room bed xr cr dx cta mra
        mr us pet nm kub abd spect dexa fluoro iv po ivc svc ett ngt ogt picc cvc ij rn np pa md do phd rt
        fnp crna aprn lpn msn bsn pa-c technique transcribed dictated reviewed read""".split())
    return frozenset(words | _MONTHS)


_MONTHS = frozenset("january february march april may june july august september october november december "
                    "jan feb mar apr jun jul aug sep sept oct nov dec".split())


_CAPS_BEFORE = re.compile(rf"(?:^|[^\w])([{_U}]{{2,}})[ \t]+\Z")


def _removable(token: re.Match[str], text: str) -> bool:
    """A report word at the edge of a candidate goes, unless it is written as a known name."""
    word = token.group().rstrip(".")
    if word.lower().replace(".", "") in _CREDENTIALS:
        return True
    if len(word) == 1 and word.isupper() and token.start() > 0 and text[token.start() - 1] in " \t":
        return False  # a middle initial written without its dot: "MILLER,GINA A"
    ordinary = word.lower() in report_words() or (word.isupper() and word.lower() in lexicon.english_words())
    if not ordinary or _initial(token.group()) or text[token.end():token.end() + 1] == ",":
        return False  # an all-caps English word at the edge goes too: "HX PER JANE ROE, MD"
    before_number = re.match(r"[.,\-/]?[ \t]*\d", text[token.end():token.end() + 8]) is not None
    if word.lower() in _MONTHS:
        return before_number or not word[:1].isupper()
    known = word.lower() in lexicon.first_names() or word.lower() in lexicon.last_names()
    before = _CAPS_BEFORE.search(text, max(0, token.start() - 30), token.start()) if word.isupper() else None
    caps_pair = before is not None and before.group(1).lower() in lexicon.first_names()  # "KENNETH BROWN"
    return not (known and word[:1].isupper() and (not word.isupper() or caps_pair) and not before_number)


_WORD_DOT = re.compile(rf"[{_U}{_L}][{_U}{_L}'\-]*\.?")


_CREDENTIALS = frozenset("md do rn np fnp pa pa-c phd rt rra crna mbbs frcr frcpc facr dnp aprn lpn cna rdms rvt rtr "
                         "rcis cnmt msn bsn".split())
_LABEL_WORDS = frozenset("dob mrn age sex acc ssn dos phone tel fax ph npi dea".split())


def _trim(text: str, start: int, end: int, keep_first: bool = False) -> tuple[int, int] | None:
    """Drop report words from both ends of a candidate (after a title or label, not the first one: "Dr. Long"),
    and all from a field label on ("Murphy, DOB May-1927"); None when nothing name-like is left."""
    tokens = list(_WORD_DOT.finditer(text, start, end))  # within the candidate only: linear in the text
    label = next((i for i, t in enumerate(tokens)
                  if i and t.group().rstrip(".").lower() in _LABEL_WORDS | _CREDENTIALS), None)
    tokens = tokens[:label]
    if keep_first and tokens and tokens[0].group()[:1].isupper() and (_initial(tokens[0].group())
                                                                      or not _report_word(tokens[0])):
        while len(tokens) > 1 and (_report_word(tokens[-1]) or _month_before_number(tokens[-1], text)):
            tokens.pop()
        return tokens[0].start(), _end(tokens[-1])
    while tokens and _removable(tokens[0], text):
        tokens.pop(0)
    while tokens and _removable(tokens[-1], text):
        tokens.pop()
    if not tokens or all(len(t.group().rstrip(".")) < 2 for t in tokens):
        return None
    return tokens[0].start(), _end(tokens[-1])


def _end(token: re.Match[str]) -> int:
    """A sentence's full stop after a name is not part of it; an initial's dot is."""
    return token.end() - (1 if token.group().endswith(".") and len(token.group()) > 2 else 0)


def _month_before_number(token: re.Match[str], text: str) -> bool:
    """"J. Savage APRIL 8, 2024": the month starts a date, not a surname."""
    return token.group().rstrip(".").lower() in _MONTHS and re.match(r"\.?[ \t]*\d", text[token.end():]) is not None


def _report_word(token: re.Match[str]) -> bool:
    word = token.group().rstrip(".").lower()
    return word in _CREDENTIALS or (word in report_words() and word not in lexicon.person_names())


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
        re.compile(rf"(?<![\w/])(?i:{_KIN_LEAD})(?:[ \t]*,|[ \t]+(?:is|was|named))?[ \t]*(?::|-)?[ \t]*(?P<v>{NAME})"),
        re.compile(rf"(?<![\w/]){_LABEL_LEAD}[ \t]*(?:{_TITLE})?(?P<v>{NAME})"),
    )


_BY_INITIALS = re.compile(rf"(?<![\w/])(?:(?i:by|transcr:|transcribed by:?|sonographer:|tech:|technologist:|"
                          rf"initials:?|dictated by:?|read by:?)[ \t]*)(?P<v>{_INITIALS})(?![\w])")
_USER_ID = re.compile(r"(?<![\w/])(?i:by[ \t]+user|user(?:name|[ \t]*id)?[ \t]*:)[ \t]*(?P<v>[A-Za-z][A-Za-z0-9._]{2,15})\b")
_DICTATING = re.compile(rf"(?<![\w/])(?i:t[hsi]{{1,4}}[ \t]+is)[ \t]+(?:(?i:dr)\.?[ \t]+)?"
                        rf"(?P<v>[{_U}{_L}][\w'\-]*(?:[ \t][{_U}{_L}][\w'\-]*)?)[ \t]+(?i:di[a-z]{{3,8}}ng)\b")
# In lower-case chat: a patient's name between "pt" and its MRN or age; a relative's after the kinship word.
_LOWER_PATIENT = re.compile(rf"(?<![\w/])(?:pt|patient)[ \t]+(?P<v>[{_L}][{_L}'\-]+(?:[ \t][{_L}][{_L}'\-]+)?)"
                            rf"(?=[ \t]*(?:\(|,[ \t]*(?:m|dob|age|\d)))")
# A name beside the patient's ids or demographics ("Roe, Jane (MRN ...", "ROE JANE | F | 1951...") or above an address.
_ID_BESIDE = r"[ \t]*(?:\((?i:mrn|dob|age|acc)|\|[ \t]*[MFU][ \t]*\||,[ \t]*(?i:dob|mrn)\b)"
_BESIDE_IDS = re.compile(rf"(?<![\w'])(?P<v>{NAME}|[{_L}]+[ \t][{_L}]+)(?={_ID_BESIDE})")
_ID_BESIDE_ONLY = re.compile(_ID_BESIDE)
_ABOVE_ADDRESS = re.compile(rf"^(?P<v>{NAME})[ \t]*\n(?=[ \t]*(?:P\.?[ \t]?O\.?[ \t]+Box|\d+[ \t]+[{_U}]))", re.M)
_CAPS_NAME = re.compile(rf"(?<![\w',])(?P<v>{_CAPS_LAST_FIRST})")
_SIGNOFF = re.compile(r"(?<=\d)[ \t]+-[ \t]+(?P<v>[a-z][a-z.]{1,12}(?:[ \t][a-z][a-z.]{1,12})?)[ \t]*$", re.M)
_STAMPED_BY = re.compile(rf"(?<=\d\d:\d\d)[ \t]+by[ \t]+(?P<v>[{_U}]{{2,4}}|{_INITIALS})(?![\w.])")
_ONE_WORD_LEAD = re.compile(rf"(?<![\w/])(?i:dis[a-z]{{4,8}}[ \t]+w[a-z]{{2,4}}|spoke[ \t]+(?:with|to)|talked[ \t]+(?:with|to)|"
                            rf"device[ \t]+rep(?:resentative)?|rep)[ \t]+(?P<v>{_TOKEN}(?:{_SP}{_TOKEN})?)(?![\w'\-])")
_CLAUSE_GOES_ON = re.compile(r"[ \t]*(?:[.,;:)]|(?:was|is|has|had|will|can|would|and|who)\b)")
_CLOSED = re.compile(r"[ \t]*(?:\)|,|[ \t]-[ \t])")
_LOWER_KIN = re.compile(rf"(?<![\w/])(?:{_KIN_LEAD}|hey|hi)[ \t]+(?P<v>[{_L}][{_L}'\-]+(?:[ \t][{_L}][{_L}'\-]+)?)")


# Pairs overlap ("Technologist JANE ROE": the pair is the second and third word): the second word is a lookahead.
_PAIR = re.compile(rf"(?<![\w'])(?P<a>{_TOKEN})(?={_SP}(?:{_INITIAL})?{_PARTICLE}{{0,2}}(?P<b>{_TOKEN})(?![\w']))")
_PAIR_REVERSED = re.compile(rf"(?<![\w'])(?P<b>{_TOKEN})(?=,{_SP}(?P<a>{_TOKEN})(?P<i>{_SP}[{_U}]\.?(?![\w']))?(?![\w']))")
# A DICOM person name written into text: LAST^FIRST^MIDDLE (PS3.5 §6.2.1), a component may hold spaces.
_COMPONENT = r"[\w'\-.]"
# Any case ("pemberton^siobhan^d" in a lower-case comment); a family name holds spaces only after its particles
# ("van der Berg^Jan"), so the words before it ("ordered by ROE^JANE") are not part of it.
DICOM_NAME = re.compile(rf"(?<![\w^])(?:(?i:van|von|de|der|den|la|le|da|das|del|della|di|du|dos|st\.)[ ]){{0,3}}"
                        rf"[^\W\d_]{_COMPONENT}*(?:\^{_COMPONENT}*(?:[ ]{_COMPONENT}+(?=\^))*)+")
_ENGLISH = frozenset("and or the a an is was has had will would said says notes office aware notified on to at "
                     "in for of with who which that".split())
# After a title, a surname written in lower case ("pcp dr valenzuela").
_LOWER_AFTER_TITLE = re.compile(rf"(?<![\w])(?i:dr|doctor)\.?[ \t]+"
                                rf"(?P<v>(?:(?:van|von|de|der|den|la|le|da|di|du|del)[ \t]+){{0,2}}[{_L}][{_L}'\-]{{2,}})"
                                rf"(?![\w'\-])")


def _dictionary(text: str) -> Iterator[Span]:
    first, last, stop = lexicon.first_names(), lexicon.last_names(), report_words()
    for pattern in (_PAIR, _PAIR_REVERSED):
        for m in pattern.finditer(text):
            a, b = m.group("a").lower(), m.group("b").lower()
            # A surname that is also a report word counts after a first name ("Vito Ward", "Graziella Jackson").
            if b in _MONTHS and re.match(r"[ \t.,]*\d", text[m.end("b"):m.end("b") + 4]):
                continue  # "Kelly May 2022": a date follows the name
            if a in first and a not in stop and (b in last or (b in first and b not in stop)):
                ends = [m.end(g) for g in ("a", "b", "i") if m.groupdict().get(g)]
                yield Span(min(m.start("a"), m.start("b")), max(ends), PhiType.NAME, "dictionary")


def _shaped(text: str) -> Iterator[Span]:
    """Names that their writing gives away: DICOM `LAST^FIRST`, a lower-case surname after "dr"."""
    for m in DICOM_NAME.finditer(text):
        if re.search(r"[^\W\d_]", m.group().partition("^")[2]) or m.group().endswith("^"):
            yield Span(m.start(), m.end(), PhiType.NAME, "dicom")
    stop = report_words()
    for pattern in (_BY_INITIALS, _USER_ID, _DICTATING, _LOWER_PATIENT, _SIGNOFF, _STAMPED_BY, _ONE_WORD_LEAD,
                    _BESIDE_IDS, _ABOVE_ADDRESS):
        for m in (_ending_at(pattern, _ID_BESIDE_ONLY, text) if pattern is _BESIDE_IDS else pattern.finditer(text)):
            words = m.group("v").lower().split()
            if (pattern in (_BESIDE_IDS, _LOWER_PATIENT) and m.group("v").islower()
                    and not any(w in lexicon.person_names() for w in words)):
                continue  # lower case beside an id: "a 94-year-old woman, MRN ..." is no name
            strong = pattern in (_DICTATING, _LOWER_PATIENT, _BESIDE_IDS, _ABOVE_ADDRESS)
            english = m.group("v").islower() and any(w in _ENGLISH for w in words)  # "with Will" is a name
            if strong or (not english and not all(w in stop for w in words)):
                yield Span(m.start("v"), m.end("v"), PhiType.NAME, "context")
    for m in _CAPS_NAME.finditer(text):
        last, _, first = m.group("v").partition(",")
        words = (last.lower(), first.split()[0].lower())
        if any(w in lexicon.person_names() for w in words):
            yield Span(m.start("v"), m.end("v"), PhiType.NAME, "context")
    for m in _LOWER_KIN.finditer(text):
        words = m.group("v").split()
        known = [w for w in words if w in lexicon.person_names() and (w not in _ENGLISH or len(words) > 1)]
        if (len(words) == 2 and known[:1] == words[:1] and words[1] not in stop and words[1] not in _ENGLISH
                and _CLAUSE_GOES_ON.match(text, m.end("v"))):
            known = words  # "niece thomas colles": a first name, then a surname no list knows
        if known == words or (len(words) == 2 and known == words[1:]):  # "will whitehead": the surname vouches
            yield Span(m.start("v"), m.end("v"), PhiType.NAME, "context")
        elif known and known[0] == words[0]:
            yield Span(m.start("v"), m.start("v") + len(words[0]), PhiType.NAME, "context")
        elif _CLOSED.match(text, m.start("v") + len(words[0])) and words[0] not in stop:  # "(husband will)"
            yield Span(m.start("v"), m.start("v") + len(words[0]), PhiType.NAME, "context")
    for m in _LOWER_AFTER_TITLE.finditer(text):  # after "dr" even "short" is a surname
        if m.group("v") not in _ENGLISH:
            yield Span(m.start("v"), m.end("v"), PhiType.NAME, "context")
    yield from _lower_cued(text)
    if _ANY_SCRIPT.search(text):  # most text has none of these letters: one scan of its characters
        for m in _SCRIPT_CUED.finditer(text):
            yield Span(m.start("v"), m.end("v"), PhiType.NAME, "context")


# Lower-case text (a technologist's comment, a chat): a name after a cue, or before a credential. After a strong
# cue (a title, a kinship word, "ordered by") the words are a name; after a weak one ("by", "per", "pt") one of
# them must be a known name. Words run on while they are no ordinary word: "wife chloe whitcombe" is one name.
_LOWER_WORD = rf"[{_L}][{_L}'\-]+"
_LOWER_STRONG = (rf"(?:(?:ordered|referred|signed|read|dictated|requested|interpreted|verified|transcribed|approved)"
                 rf"[ \t]+by|dr|doctor|mr|mrs|ms|mr\./ms|attn|cc|contact|{_KIN_LEAD}|discussed[ \t]+(?:w/|with)|d/w|"
                 rf"spoke[ \t]+(?:to|with)|talked[ \t]+(?:to|with))")
# The cue in any case ("Protocol of Dr zelvani quorbet"): the name itself is still in lower case.
_LOWER_CUE = re.compile(rf"(?<![\w/])(?i:(?P<strong>{_LOWER_STRONG})|(?:by|per|pt|patient|c/o))\.?[ \t]*[:\-]?[ \t]*"
                        rf"(?P<title>(?:dr|mr|mrs|ms|mr\./ms)\.?[ \t]+)?"
                        rf"(?P<v>{_LOWER_WORD}(?:,?[ \t]+(?:[{_L}]\.?[ \t]+)?{_LOWER_WORD}){{0,2}}(?:[ \t]+[{_L}]\b)?)")
# A name in another script (Greek, Cyrillic, Armenian, Hebrew, Arabic, Devanagari, Thai, Georgian, kana, Han, Hangul)
# after a title, a kinship word or a lead: no list knows it and its case (if any) says nothing in Latin text.
_SCRIPT = ("\u0370-\u03ff\u0400-\u04ff\u0530-\u058f\u0590-\u05ff\u0600-\u06ff\u0900-\u097f\u0e00-\u0e7f"
           "\u10a0-\u10ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af")
_ANY_SCRIPT = re.compile(f"[{_SCRIPT}]")
_SCRIPT_CUED = re.compile(rf"(?<![\w/])(?i:{_LOWER_STRONG}|prof|professor|informed|notified|called|paged|by|per|pt|"
                          rf"patient|name|c/o)\.?[ \t]*:?[ \t]*(?P<v>[{_SCRIPT}]+(?:[ \t]+[{_SCRIPT}]+){{0,2}})")
_BESIDE_ID = re.compile(r"[ \t]*(?:\(|,?[ \t]*(?:dob|mrn|age)\b|,[ \t]*\d)")
_LOWER_CREDENTIAL = re.compile(r",?[ \t]+(?:md|do|rn|np|pa-c|phd|dnp|aprn|crna)\b(?![\w\-])")
_LOWER_BEFORE_CREDENTIAL = re.compile(rf"(?<![\w'\-])(?P<v>{_LOWER_WORD}(?:[ \t]+(?:[{_L}]\.?[ \t]+)?{_LOWER_WORD}){{0,2}})"
                                      rf"(?=,?[ \t]+(?:md|do|rn|np|pa-c|phd|dnp|aprn|crna)\b)")


# Endings of clinical adjectives and nouns ("pt hypotensive, tachycardic"): such a pair is no "last, first".
_PROSE_ENDINGS = ("ive", "ic", "al", "ous", "ed", "ing", "ia", "osis", "itis", "ly", "ary", "ent", "ant", "ion",
                  "ile", "ible", "able", "emia", "oma", "pathy")


def _ordinary(word: str) -> bool:
    """A word that reads as English or report prose in lower case (never a name on its own there)."""
    lowered = word.lower().rstrip(".")
    return (len(lowered) < 2 or lowered in lexicon.english_words() or lowered in report_words()
            or lowered in _ENGLISH or lowered in _CREDENTIALS or lowered in lexicon.WORD_NAMES)


def _name_words(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The run of name words at the start of [start, end): up to the first ordinary word (an initial may follow)."""
    last = None
    tokens = list(re.finditer(r"[^\s,]+", text[start:end]))
    for i, m in enumerate(tokens):
        word = m.group()
        if i == 0 and word in lexicon.first_names() and len(tokens) > 1 and not _ordinary(tokens[1].group()):
            last = start + m.end()  # a first name that is also a word, before a surname: "june nwachukwu"
            continue
        if len(word.rstrip(".")) == 1 and last is not None:
            last = start + m.end()  # a middle or final initial: "margarethe n mbeki-long"
            continue
        if _ordinary(word):
            break
        last = start + m.end()
    return (start, last) if last is not None else None


def _lower_cued(text: str) -> Iterator[Span]:
    for m in _LOWER_CUE.finditer(text):
        if not m.group("v").islower():
            continue
        run = _name_words(text, m.start("v"), m.end("v"))
        if run is None:
            continue
        words = re.findall(r"[^\s,.]+", text[run[0]:run[1]])
        known = any(w in lexicon.person_names() for w in words)
        beside = _LOWER_CREDENTIAL.match(text, run[1]) is not None or _BESIDE_ID.match(text, run[1]) is not None
        last_first = "," in text[run[0]:run[1]] and not any(w.endswith(_PROSE_ENDINGS) for w in words)
        if m.group("strong") or m.group("title") or known or beside or last_first:
            yield Span(*run, PhiType.NAME, "context")
    for m in _ending_at(_LOWER_BEFORE_CREDENTIAL, _LOWER_CREDENTIAL, text):
        run = _last_name_words(text, m.start("v"), m.end("v"))
        if run is not None:
            yield Span(*run, PhiType.NAME, "context")


def _last_name_words(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The run of name words at the end of [start, end) (before a credential: "ordered by jane roe, md")."""
    words = list(re.finditer(r"\S+", text[start:end]))
    first = None
    for m in reversed(words):
        if _ordinary(m.group()) and len(m.group().rstrip(".")) > 1:
            break
        first = start + m.start()
    return (first, end) if first is not None else None


_CREDENTIAL_ONLY = re.compile(_CREDENTIAL)
_REACH = 100  # a name before a credential is shorter than this


def _ending_at(rule: re.Pattern[str], anchor: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """The rule's matches, looked for only on the line just before each anchor (a credential, an MRN):
    a name can start at any word, and trying every word of a long report is such a rule's whole cost."""
    seen = set()
    for c in anchor.finditer(text):
        start = max(text.rfind("\n", 0, c.start()) + 1, c.start() - _REACH)
        for m in rule.finditer(text, start, c.end()):
            if m.span() not in seen:
                seen.add(m.span())
                yield m


def find(text: str) -> Iterator[Span]:
    """Every name found by context or dictionary, then every other mention of its words."""
    found: list[Span] = []
    for number, rule in enumerate(_rules()):
        for m in (_ending_at(rule, _CREDENTIAL_ONLY, text) if number == 1 else rule.finditer(text)):
            first = _WORD_DOT.match(text, m.start("v"))
            if number == 0 and first and _report_word(first) and not _initial(first.group()):
                continue  # "MR LEFT FOREFOOT" is a modality and a body part after no title at all
            trimmed = _trim(text, m.start("v"), m.end("v"), keep_first=number in (0, 5))
            if trimmed and (number in (0, 1, 4, 5) or _evidence(text[trimmed[0]:trimmed[1]], strong=number == 2)):
                found.append(Span(*trimmed, PhiType.NAME, "context"))
    found.extend(_dictionary(text))
    found.extend(_shaped(text))
    yield from found
    propagated = list(_propagate(text, found))
    yield from propagated
    yield from _first_names_before(text, propagated)


_BEFORE_SURNAME = re.compile(rf"(?<![\w'\-])(?P<v>{_TOKEN})[ \t]+(?:{_INITIAL})?\Z")


def _first_names_before(text: str, surnames: list[Span]) -> Iterator[Span]:
    """A known person's surname met again with a first name before it ("Liliana Bärer"): the pair is the name."""
    for span in surnames:
        m = _BEFORE_SURNAME.search(text, max(0, span.start - 40), span.start)
        if m and m.group("v").lower() in lexicon.first_names() and m.group("v").lower() not in report_words():
            yield Span(m.start("v"), span.end, PhiType.NAME, "propagated")


@cache
def _facility_words() -> frozenset[str]:
    from qms.deid.text.places import FACILITY_WORDS  # places reads this module's report words
    return frozenset(w.lower() for phrase in FACILITY_WORDS for w in phrase.split())


def _propagate(text: str, found: list[Span]) -> Iterator[Span]:
    stop = report_words() | _facility_words()
    words = {w.lower() for s in found for w in re.findall(rf"[{_U}{_L}][{_U}{_L}'\-]+", s.text(text))
             if len(w) > 2 and w.lower() not in stop}
    if not words:
        return
    for start, end in WordIndex(text, r"[\w'\-]+").words(words):
        if text[start].isupper() and not reads_as_word(text, start, end):
            yield Span(start, end, PhiType.NAME, "propagated")


_SENTENCE_START = re.compile(r"(?:\A|[.!?:]\s+|\n\s*(?:[-*•]|\d{1,2}[.)])?\s*)\Z")  # bullets open sentences too
_NEXT_WORD = re.compile(r"[ \t]+[a-z]")


def reads_as_word(text: str, start: int, end: int) -> bool:
    """"Long segment", "Hope this helps", "Will follow": a name-word opening a sentence before a lower-case word."""
    return (text[start:end].lower() in lexicon.WORD_NAMES and _NEXT_WORD.match(text, end) is not None
            and _SENTENCE_START.search(text, max(0, start - 6), start) is not None)
