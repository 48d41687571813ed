"""Realistic, keyed stand-ins for identifiers: hiding in plain sight.

A surrogate has the type and the shape of what it replaces (a name for a name, a date in
the same format, a phone number with the same punctuation), and is a function of the key,
the patient and the real value only: the same value of the same patient becomes the same
surrogate in every report and every run, and without the key nothing maps back.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

from qms.deid.keying import DateShiftRange, DeidKey, normalise_identifier
from qms.deid.text import dates, lexicon
from qms.deid.text.phi import PhiType
from qms.deid.text.places import CITY_STATE_ZIP, FACILITY_WORDS

__all__ = ["AGE_CAP", "Surrogates"]

AGE_CAP = "90+"  # 45 CFR §164.514(b)(2)(i)(C): ages over 89 aggregated into one category
_DOMAINS = ("example.org", "example.com", "example.net")  # RFC 2606: never a real mailbox


class Surrogates:
    """Surrogates for one patient under one key."""

    def __init__(self, key: DeidKey, patient: str, shift: DateShiftRange = DateShiftRange()) -> None:
        self._key = key
        self._patient = normalise_identifier(patient)
        self.offset_days = key.date_offset_days(patient, shift)

    def _rng(self, kind: str, value: str, attempt: int = 0) -> random.Random:
        seed = self._key.mac(f"surrogate:{kind}", f"{self._patient}\x00{value}\x00{attempt}")
        return random.Random(int.from_bytes(seed[:16], "big"))

    def replace(self, phi_type: PhiType, value: str, avoid: frozenset[str] = frozenset()) -> str:
        """The surrogate of `value`; never `value` itself, nor a word of `avoid` (the report's real values).

        A surrogate that would spell another real identifier of the same report is re-drawn:
        only then does a value's surrogate differ from the one it has in the patient's other reports.
        """
        if phi_type is PhiType.AGE:
            return AGE_CAP
        if phi_type is PhiType.DATE:
            shifted: str | None = dates.shift(value, self.offset_days)
            if shifted is not None:
                return shifted
        if phi_type is PhiType.NAME:
            return _name(self, value, avoid)
        make = _MAKERS.get(phi_type, _shape)
        own = _words(value)
        for attempt in range(16):
            out = make(self, value, attempt)
            # Nor may it bring in a word of another real identifier ("Contoso Radiology" must not
            # become "James Radiology" for patient BROWN^JAMES): verify would rightly call that a leak.
            if out.lower() != value.lower() and out.lower() not in avoid and not (_words(out) - own) & avoid:
                return out
        return _shape(self, value, 16)

    def pick(self, kind: str, value: str, attempt: int, choices: Sequence[str]) -> str:
        return str(self._rng(kind, value, attempt).choice(choices))

    def word(self, token: str, avoid: frozenset[str]) -> str:
        """One name word, in the case of `token`, keyed by the word itself (so it is consistent)."""
        lowered = token.lower()
        if lowered in lexicon.first_names() and lowered not in lexicon.last_names():
            choices = lexicon.surrogate_first_names()
        else:
            choices = lexicon.surrogate_last_names()
        for attempt in range(16):
            out = self.pick("name", lowered, attempt, choices)
            if out.lower() != lowered and out.lower() not in avoid:
                break
        return _case_like(out, token)


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", text)}


def _case_like(out: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return out.upper()
    if like.islower():
        return out.lower()
    return out


def _name(s: Surrogates, value: str, avoid: frozenset[str]) -> str:
    def token(m: re.Match[str]) -> str:
        word = m.group()
        if len(word) == 1:  # an initial
            return _case_like(s.pick("initial", word.upper(), 0, "ABCDEFGHJKLMNPRSTW"), word)
        return s.word(word, avoid)
    # Any script's letters: a name written in Cyrillic or Han gets a (Latin) surrogate too, never itself.
    return re.sub(r"[^\W\d_][^\W\d_']*", token, value)


def _shape(s: Surrogates, value: str, attempt: int) -> str:
    """Same length and punctuation; each digit a keyed digit, each letter a keyed letter."""
    rng = s._rng("shape", value, attempt)
    out = []
    for i, ch in enumerate(value):
        if ch.isdigit():
            out.append(str(rng.randint(1 if i == 0 else 0, 9)))
        elif ch.isalpha():
            letter = rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ")
            out.append(letter if ch.isupper() else letter.lower())
        else:
            out.append(ch)
    return "".join(out)


def _phone(s: Surrogates, value: str, attempt: int) -> str:
    rng = s._rng("phone", value, attempt)
    digits = iter([str(rng.randint(2, 9)), *(str(rng.randint(0, 9)) for _ in range(2)),
                   str(rng.randint(2, 9)), *(str(rng.randint(0, 9)) for _ in range(30))])
    leading_one = re.match(r"\+?1[\s.\-]", value)
    head = leading_one.group() if leading_one else ""
    return head + re.sub(r"\d", lambda _: next(digits), value[len(head):])


def _ssn(s: Surrogates, value: str, attempt: int) -> str:
    out = _shape(s, value, attempt)
    return "9" + out[1:]  # area numbers 9xx are never issued as SSNs


def _email(s: Surrogates, value: str, attempt: int) -> str:
    local = value.split("@", 1)[0]
    first = s.pick("email-first", local, attempt, lexicon.surrogate_first_names()).lower()
    last = s.pick("email-last", local, attempt, lexicon.surrogate_last_names()).lower()
    return f"{first}.{last}@{s.pick('email-domain', value, attempt, _DOMAINS)}"


def _url(s: Surrogates, value: str, attempt: int) -> str:
    scheme = re.match(r"https?://", value)
    host_path = value[scheme.end():] if scheme else value
    path = host_path.partition("/")[2]
    new_path = _shape(s, path, attempt).lower() if path else ""
    www = "www." if host_path.startswith("www.") else ""
    host = s.pick("url", value, attempt, _DOMAINS)
    return f"{scheme.group() if scheme else ''}{www}{host}" + (f"/{new_path}" if path else "")


def _ip(s: Surrogates, value: str, attempt: int) -> str:
    rng = s._rng("ip", value, attempt)
    return "10." + ".".join(str(rng.randint(0, 254)) for _ in range(3))


def _city(s: Surrogates, value: str, attempt: int) -> str:
    together = CITY_STATE_ZIP.fullmatch(value)
    if together:  # "Springfield, IL 62704": another city and zip, the same state
        city = together["city"]
        return (_case_like(s.pick("city", city.lower(), attempt, lexicon.cities()), city) + together["sep"]
                + together["state"] + together["sep2"] + _shape(s, together["zip"], attempt))
    return _case_like(s.pick("city", value.lower(), attempt, lexicon.cities()), value)


def _institution(s: Surrogates, value: str, attempt: int) -> str:
    tail = max((w for w in FACILITY_WORDS if re.search(rf"\b{re.escape(w)}\b", value)),
               key=lambda w: (value.rfind(w), len(w)), default="Hospital")
    head = s.pick("institution", value.lower(), attempt, lexicon.surrogate_last_names() + lexicon.cities())
    return _case_like(f"{head} {tail}", value)


def _address(s: Surrogates, value: str, attempt: int) -> str:
    keep = {w.lower() for w in lexicon.street_suffixes()} | {"st", "ave", "rd", "blvd", "dr", "ln", "ct", "pl", "ter",
           "pkwy", "hwy", "cir", "sq", "trl", "apt", "apartment", "suite", "ste", "unit", "north", "south", "east",
           "west", "n", "s", "e", "w", "po", "p", "o", "box", "post", "office", "th", "st", "nd", "rd"}

    def word(m: re.Match[str]) -> str:
        w = m.group()
        if w.lower() in keep:
            return w
        if len(w) == 1:  # a unit's letter ("Ste. 330B") stays one letter
            return _case_like(s.pick("unit", w.upper(), attempt, "ABCDEFGHJKLMNPRSTW"), w)
        return _case_like(s.pick("street", w.lower(), attempt, lexicon.street_names()), w)
    rng = s._rng("house", value, attempt)
    digits = re.sub(r"\d", lambda _: str(rng.randint(1, 9)), value)
    return re.sub(r"[A-Za-z]+", word, digits)


_MAKERS: dict[PhiType, Callable[[Surrogates, str, int], str]] = {
    PhiType.PHONE: _phone, PhiType.FAX: _phone, PhiType.SSN: _ssn, PhiType.EMAIL: _email,
    PhiType.URL: _url, PhiType.IP: _ip, PhiType.CITY: _city, PhiType.INSTITUTION: _institution,
    PhiType.ADDRESS: _address,
}
