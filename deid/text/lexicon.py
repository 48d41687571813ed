"""The word lists detection and surrogates stand on: clinical terms, cities, person names.

Clinical terms and cities are data files in the repository (deid/data/text_*); person
names come from faker's offline provider lists, so no list is fetched at run time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from faker.providers.address.en_US import Provider as _UsAddress
from faker.providers.lorem.en_US import Provider as _UsWords
from faker.providers.person.de_DE import Provider as _DePerson
from faker.providers.person.en_GB import Provider as _GbPerson
from faker.providers.person.en_US import Provider as _UsPerson
from faker.providers.person.es_ES import Provider as _EsPerson
from faker.providers.person.fr_FR import Provider as _FrPerson
from faker.providers.person.it_IT import Provider as _ItPerson
from faker.providers.person.nl_NL import Provider as _NlPerson
from faker.providers.person.pt_BR import Provider as _PtPerson

from qms.errors import QmsError

__all__ = ["cities", "clinical_terms", "ClinicalTerm", "english_words", "first_names", "last_names", "LOWER",
           "person_names", "STATE_NAMES", "STATES", "street_names", "street_suffixes", "surrogate_first_names",
           "surrogate_last_names", "UPPER", "WORD_NAMES"]

_DATA = "qms.deid"
UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĴĶĹĻĽĿŁŃŅŇŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
LOWER = "a-zß-öø-ÿāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįıĵķĺļľŀłńņňōŏőœŕŗřśŝşšţťŧũūŭůűųŵŷźżž"
"""Character classes of Latin letters with diacritics: names are not only ASCII."""
_WORD = re.compile(rf"[{UPPER}{LOWER}][{UPPER}{LOWER}'\-]+")


@dataclass(frozen=True)
class ClinicalTerm:
    category: str
    term: str


def _lines(name: str) -> list[str]:
    text = resources.files(_DATA).joinpath("data", name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def clinical_terms() -> tuple[ClinicalTerm, ...]:
    """Eponyms, devices, medications, anatomy, laterality, measurements: never replaced."""
    terms = []
    for number, line in enumerate(_lines("text_clinical_terms.tsv"), start=1):
        category, sep, term = line.partition("\t")
        if not sep or not term.strip():
            raise QmsError("a clinical term line is not 'category<TAB>term'", where=f"text_clinical_terms.tsv:{number}")
        terms.append(ClinicalTerm(category, term.strip()))
    return tuple(terms)


@cache
def cities() -> tuple[str, ...]:
    return tuple(dict.fromkeys(line.strip() for line in _lines("text_us_cities.txt")))


_FUNCTION_WORDS = frozenset("the and of to in on at is or an for with by as".split())  # surnames in some lists ("The")


def _names(*lists: object) -> frozenset[str]:
    out: set[str] = set()
    for names in lists:
        for name in names:  # type: ignore[attr-defined]
            out.update(w.lower() for w in _WORD.findall(str(name)) if len(w) > 1)
    return frozenset(out - _FUNCTION_WORDS)


_PEOPLE = (_UsPerson, _GbPerson, _EsPerson, _ItPerson, _DePerson, _FrPerson, _NlPerson, _PtPerson)
"""Faker's offline name lists: names in US reports come from everywhere."""


@cache
def first_names() -> frozenset[str]:
    return _names(*(p.first_names for p in _PEOPLE))


@cache
def last_names() -> frozenset[str]:
    return _names(*(p.last_names for p in _PEOPLE))


@cache
def person_names() -> frozenset[str]:
    return first_names() | last_names()


@cache
def surrogate_first_names() -> tuple[str, ...]:
    return tuple(sorted({str(n) for n in _UsPerson.first_names if str(n).isalpha()}))


@cache
def surrogate_last_names() -> tuple[str, ...]:
    return tuple(sorted({str(n) for n in _UsPerson.last_names if str(n).isalpha()}))


@cache
def street_names() -> tuple[str, ...]:
    """Street name stems for surrogate addresses (surnames, as many streets are named)."""
    return surrogate_last_names()


@cache
def street_suffixes() -> tuple[str, ...]:
    return tuple(sorted(set(_UsAddress.street_suffixes)))


# Words of clinical notes that faker's list of common English words lacks.
_NOTE_WORDS = frozenset("""
    admission admitted bedside born chart comparison compare consult diagnosis discharge exam female films
    follow hx imaging insurance outside ordered presents prior referral referred registration reports results
    scan seen sob symptoms transfer ultrasound w/ x-ray""".split())


@cache
def english_words() -> frozenset[str]:
    """Ordinary English words, inflected: an all-caps or lower-case one is no name without a hint or a cue.

    Faker's offline list of common English words, its plural, past and -ing forms, and `_NOTE_WORDS`.
    """
    base = {str(w).lower() for w in _UsWords.word_list if len(str(w)) > 1} | _NOTE_WORDS
    forms = {f"{w}s" for w in base} | {f"{w}es" for w in base if w.endswith(("s", "x", "z", "ch", "sh"))}
    forms |= {f"{w}{end}" for w in base if len(w) > 3 and not w.endswith("e") for end in ("ed", "ing")}
    forms |= {f"{w[:-1]}{end}" for w in base if len(w) > 3 and w.endswith("e") for end in ("ed", "ing")}
    return frozenset(base | forms)


WORD_NAMES: frozenset[str] = frozenset("""
    art best bill black bell brown bush cash chance cross dale dawn day drew early faith field fields frank gay
    gene golden grace gray green grey gross hall hill holly hope house hunt ivy jay joy june king lane law lee
    little long love major mark marsh may mercy miles moody moss north park patience pierce price rich rivers
    rose sage sharp short small snow spring stone strong summer sunny trust wall ward west white will wise wood
    woods young""".split())
"""Person names that are also everyday English words: alone at a sentence's start they are read as words."""

STATES: frozenset[str] = frozenset(str(s) for s in _UsAddress.known_usps_abbr)
STATE_NAMES: frozenset[str] = frozenset(str(s) for s in _UsAddress.states)
