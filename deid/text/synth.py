"""A seeded generator of synthetic, annotated radiology reports: the evaluation corpus.

Every report is made up (faker's offline name and address providers, several locales,
and our own chest X-ray / CT templates); each identifier planted in it is recorded with
its character offsets and Safe Harbor type. No real patient is in it. Templates, name
sources and date formats are chosen independently of the detector's own lists, so a
held-out seed measures the detector, not its memory.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from faker import Faker

from qms.deid.text import lexicon
from qms.deid.text.phi import PhiType

__all__ = ["AnnotatedReport", "generate", "GoldSpan", "Piece"]

_LOCALES = ("en_US", "en_US", "en_GB", "de_DE", "fr_FR", "es_MX", "it_IT", "pt_BR", "nl_NL", "pl_PL", "en_IE", "sv_SE")
_DATE_FORMATS = (
    "{m:02d}/{d:02d}/{Y}", "{m}/{d}/{y:02d}", "{m}/{d}/{Y}", "{B} {d}, {Y}", "{d} {b} {Y}", "{Y}-{m:02d}-{d:02d}",
    "{d:02d}-{B3U}-{Y}", "{b} {d}, {Y}", "{b}. {d}, {Y}", "{d} {B} {Y}", "{m:02d}-{d:02d}-{Y}", "{Y}/{m:02d}/{d:02d}",
    "{B} {Y}", "{B} {d}{ord}, {Y}", "{m:02d}.{d:02d}.{Y}", "{B} {d}", "{d}{ord} of {B}, {Y}", "{m:02d}/{d:02d}/{y:02d}",
    "{BU} {d}, {Y}",
)
_CREDENTIALS = ("MD", "M.D.", "DO", "RN", "NP", "PA-C", "MD, PhD", "RT(R)")
_EXAMS = ("XR CHEST PA AND LATERAL", "CHEST PORTABLE AP", "CT CHEST WITH CONTRAST", "CT CHEST WITHOUT CONTRAST",
          "CTA CHEST PE PROTOCOL", "CT ABDOMEN AND PELVIS WITH CONTRAST", "CT HEAD WITHOUT CONTRAST",
          "XR CHEST 1 VIEW", "LOW-DOSE CT LUNG CANCER SCREENING")
_INDICATIONS = ("shortness of breath", "cough and fever", "chest pain", "pneumonia", "follow-up of pulmonary nodule",
                "line placement", "hypoxia", "fall", "weight loss", "hemoptysis", "trauma", "sepsis")
_FINDINGS = (
    "The lungs are clear. No pleural effusion or pneumothorax.",
    "There are Kerley B lines and small bilateral pleural effusions, consistent with interstitial edema.",
    "A wedge-shaped peripheral opacity in the right lower lobe is suggestive of a Hampton hump.",
    "Regional oligemia in the left upper lobe (Westermark sign).",
    "A Foley catheter is noted in the bladder.",
    "Mediastinal lymphadenopathy in this patient with known Hodgkin lymphoma, measuring up to 2.1 cm.",
    "Chiari malformation with cerebellar tonsillar ectopia of 7 mm.",
    "A Bankart lesion of the anterior glenoid is partially imaged.",
    "History of Parkinson disease; the study is limited by motion.",
    "Endotracheal tube tip is 4 cm above the carina. Nasogastric tube courses below the diaphragm.",
    "Right internal jugular central venous catheter terminates at the cavoatrial junction.",
    "Left-sided pacemaker with leads in the right atrium and right ventricle.",
    "Median sternotomy wires are intact. Heart size is mildly enlarged.",
    "A 5 mm solid nodule in the right middle lobe is unchanged; Fleischner criteria do not require follow-up.",
    "Lung-RADS 2: benign appearance. Agatston score 112.",
    "Hounsfield units of 45 HU within the adrenal gland, indeterminate.",
    "Ground-glass opacities in both lung bases, possibly related to amiodarone or methotrexate toxicity.",
    "No acute osseous abnormality. Degenerative changes of the thoracic spine.",
    "Mild cardiomegaly. Aortic knob calcification.",
    "A PICC line terminates in the superior vena cava.",
    "Postsurgical changes of Nissen fundoplication.",
    "Schmorl node at T12. Scoliosis with a Cobb angle of 12 degrees.",
    "Pleural-based mass in the left apex compatible with a Pancoast tumor.",
    "Intravenous iohexol (Omnipaque 350), 100 mL, was administered without complication.",
    "Per Fleischner Society guidelines, no further follow-up is needed.",
    "Recommend correlation with Doppler ultrasound of the lower extremities.",
    "Patient Motion degrades the study. Discussed with the Emergency Department.",
    "Reviewed at the Thoracic Imaging Conference. Per ACR Appropriateness Criteria, CT is appropriate.",
    "Findings Communicated To The ED Charge Nurse By Phone.",
    "Overall Impression: Stable. Dose Reduction Techniques Were Used.",
    "The Swan-Ganz catheter tip is in the right descending pulmonary artery. Greenfield filter in the IVC.",
    "Dandy-Walker malformation. Sylvian fissure and circle of Willis are unremarkable.",
)
_IMPRESSIONS = ("No acute cardiopulmonary process.", "Findings consistent with pulmonary edema.",
                "Right lower lobe pneumonia.", "Stable pulmonary nodule.", "Lines and tubes as described.",
                "Findings compatible with pulmonary embolism.", "No significant change from prior.")


@dataclass(frozen=True)
class GoldSpan:
    start: int
    end: int
    type: PhiType


@dataclass(frozen=True)
class AnnotatedReport:
    """A synthetic report, its patient id, and the identifiers planted in it."""

    text: str
    patient_id: str
    spans: tuple[GoldSpan, ...]


Piece = tuple[PhiType | None, str]
"""A piece of report text: an identifier of a type, or (None) plain text."""


@dataclass
class _Builder:
    parts: list[str] = field(default_factory=list)
    spans: list[GoldSpan] = field(default_factory=list)
    length: int = 0

    def add(self, pieces: list[Piece]) -> None:
        for phi_type, text in pieces:
            if phi_type is not None:
                self.spans.append(GoldSpan(self.length, self.length + len(text), phi_type))
            self.parts.append(text)
            self.length += len(text)

    def fill(self, template: str, **slots: list[Piece]) -> None:
        """Plain text with `{slot}`s, each slot a list of pieces: the template reads like the report."""
        for i, chunk in enumerate(re.split(r"\{(\w+)\}", template)):
            self.add(slots[chunk] if i % 2 else [(None, chunk)])


def _phi(phi_type: PhiType, value: str) -> list[Piece]:
    return [(phi_type, value)]


class _Patient:
    """One synthetic patient's identifiers, reused across a report like a real chart."""

    def __init__(self, rng: random.Random, fakes: dict[str, Faker]) -> None:
        self.rng = rng
        self.fakes = fakes
        self.first, self.last = self.person()
        self.mrn = self.number()
        self.dob = date(1925, 1, 1) + timedelta(days=rng.randint(0, 365 * 80))
        self.exam = date(2015, 1, 1) + timedelta(days=rng.randint(0, 365 * 10))

    def fake(self) -> Faker:
        return self.fakes[self.rng.choice(_LOCALES)]

    def person(self) -> tuple[str, str]:
        f = self.fake()
        last = f.last_name()
        if self.rng.random() < 0.08:
            last = f"{last}-{self.fake().last_name()}"
        return f.first_name(), last

    def number(self) -> str:
        r = self.rng
        shape = r.choice(("{:07d}", "{:08d}", "E{:07d}", "{:010d}", "MR{:06d}", "{:09d}"))
        return shape.format(r.randint(0, 10**6 * 9))

    def date_text(self, when: date) -> str:
        fmt = self.rng.choice(_DATE_FORMATS)
        day = when.day
        suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        return fmt.format(m=when.month, d=day, Y=when.year, y=when.year % 100, B=when.strftime("%B"),
                          b=when.strftime("%b"), B3U=when.strftime("%b").upper(), BU=when.strftime("%B").upper(),
                          ord=suffix)

    def near_exam(self) -> date:
        return self.exam - timedelta(days=self.rng.randint(0, 900))


def _name(pt: _Patient, first: str, last: str, style: str | None = None) -> list[Piece]:
    """A name in one of the formats reports use; a title is text, the name is the identifier."""
    r = pt.rng
    style = style or r.choice(("first last", "last, first", "LAST, FIRST", "first m. last", "f. last", "dr last",
                               "first last"))
    if style == "dr last":
        return [(None, r.choice(("Dr. ", "Dr ", "DR. ", "Doctor "))), (PhiType.NAME, last)]
    value = {
        "last, first": f"{last}, {first}", "LAST, FIRST": f"{last.upper()}, {first.upper()}",
        "first m. last": f"{first} {r.choice('ABCDEFGHJKLMNPRSTW')}. {last}", "f. last": f"{first[0]}. {last}",
    }.get(style, f"{first} {last}")
    return _phi(PhiType.NAME, value)


def _institution(pt: _Patient) -> str:
    r, f = pt.rng, pt.fake()
    return r.choice((
        f"{f.last_name()} Memorial Hospital", f"St. {f.first_name()}'s Medical Center", f"{_city(pt)} General Hospital",
        f"University of {_city(pt)} Medical Center", f"{_city(pt)} Imaging Center", f"{f.last_name()} Clinic",
        f"{f.last_name()} Regional Medical Center", f"{_city(pt)} Community Hospital",
        f"Mount {f.last_name()} Hospital",
    ))


def _city(pt: _Patient) -> str:
    return pt.rng.choice(lexicon.cities()) if pt.rng.random() < 0.5 else pt.fakes["en_US"].city()


def _phone(pt: _Patient) -> str:
    r = pt.rng
    a, b, c = r.randint(201, 989), r.randint(200, 999), r.randint(0, 9999)
    return r.choice(("({a}) {b}-{c:04d}", "{a}-{b}-{c:04d}", "{a}.{b}.{c:04d}", "+1 {a} {b} {c:04d}",
                     "{a}-{b}-{c:04d} ext. 42", "1-{a}-{b}-{c:04d}")).format(a=a, b=b, c=c)


def _header(b: _Builder, pt: _Patient) -> None:
    r = pt.rng
    style = r.randint(0, 3)
    if style == 0:
        accession = r.choice(("A{:08d}", "CT-{:08d}", "ACC{:07d}", "{:010d}")).format(r.randint(0, 9999999))
        b.fill("PATIENT: {name}    MRN: {mrn}    DOB: {dob}\nACCESSION: {acc}    EXAM DATE: {exam}\n",
               name=_name(pt, pt.first, pt.last, "LAST, FIRST"), mrn=_phi(PhiType.MRN, pt.mrn),
               dob=_phi(PhiType.DATE, pt.date_text(pt.dob)), acc=_phi(PhiType.ACCESSION, accession),
               exam=_phi(PhiType.DATE, pt.date_text(pt.exam)))
    elif style == 1:
        b.fill("Name: {name}\nMedical Record Number: {mrn}\nDate of Birth: {dob}\nAccount #: {acct}\n"
               "Location: {site}\n", name=_name(pt, pt.first, pt.last, r.choice(("first last", "last, first"))),
               mrn=_phi(PhiType.MRN, pt.mrn), dob=_phi(PhiType.DATE, pt.date_text(pt.dob)),
               acct=_phi(PhiType.ACCOUNT, f"{r.randint(10**8, 10**9 - 1)}"),
               site=_phi(PhiType.INSTITUTION, _institution(pt)))
    elif style == 2:
        b.fill("{site}\n{address}\nPhone {phone}   Fax {fax}\n\nPatient: {name} (MRN {mrn})\n",
               site=_phi(PhiType.INSTITUTION, _institution(pt)), address=_address(pt),
               phone=_phi(PhiType.PHONE, _phone(pt)), fax=_phi(PhiType.FAX, _phone(pt)),
               name=_name(pt, pt.first, pt.last, r.choice(("last, first", "first m. last"))),
               mrn=_phi(PhiType.MRN, pt.mrn))
    else:
        b.fill("Exam date: {exam}{label}{acc}\n", exam=_phi(PhiType.DATE, pt.date_text(pt.exam)),
               label=[(None, r.choice(("  Acc: ", "  Accession #", "  Order: ")))],
               acc=_phi(PhiType.ACCESSION, f"{r.randint(10**6, 10**8)}"))


def _address(pt: _Patient) -> list[Piece]:
    us = pt.fakes["en_US"]
    zipcode = us.zipcode_plus4() if pt.rng.random() < 0.3 else us.zipcode()
    return [(PhiType.ADDRESS, us.street_address()), (None, ", "), (PhiType.CITY, _city(pt)),
            (None, f", {us.state_abbr()} "), (PhiType.ZIP, zipcode)]


def _history(b: _Builder, pt: _Patient) -> None:
    r = pt.rng
    old = r.random() < 0.35
    age = str(r.randint(90, 104) if old else r.randint(18, 89))
    before, _, after = r.choice(("{}-year-old", "{} year old", "{} yo", "{} y/o", "age {}", "{}F", "{} M",
                                 "{}-year-old")).partition("{}")
    b.fill("{head}{before}{age}{after} {who} with {why}.", head=[(None, r.choice(("\nCLINICAL HISTORY: ",
           "\nINDICATION: ", "\nHistory: ")))], before=[(None, before)], after=[(None, after)],
           age=_phi(PhiType.AGE, age) if old else [(None, age)],
           who=[(None, r.choice(("female", "male", "patient", "woman", "man")))], why=[(None, r.choice(_INDICATIONS))])
    if r.random() < 0.5:
        first, last = pt.person()
        credential = f", {r.choice(_CREDENTIALS)}" if r.random() < 0.5 else ""
        b.fill("{lead}{name}{cred}.", lead=[(None, r.choice((" Referring physician: ", " Ordered by ",
               " Ordering provider: ")))], name=_name(pt, first, last), cred=[(None, credential)])
    b.fill("\n")


def _comparison(b: _Builder, pt: _Patient) -> None:
    r = pt.rng
    prior = [_phi(PhiType.DATE, pt.date_text(pt.near_exam())) for _ in range(3)]
    [
        lambda: b.fill("\nCOMPARISON: None.\n"),
        lambda: b.fill("\nCOMPARISON: {d}.\n", d=prior[0]),
        lambda: b.fill("\nCOMPARISON: Prior studies dated {d} and {e}.\n", d=prior[0], e=prior[1]),
        lambda: b.fill("\nCOMPARISON: Outside CT from {site}{at}{city} on {d}.\n",
                       site=_phi(PhiType.INSTITUTION, _institution(pt)), at=[(None, r.choice((" in ", " at ")))],
                       city=_phi(PhiType.CITY, _city(pt)), d=prior[2]),
    ][r.randint(0, 3)]()


def _findings(b: _Builder, pt: _Patient) -> None:
    r = pt.rng
    b.add([(None, f"\nTECHNIQUE: {r.choice(_EXAMS)}. DLP 450 mGy-cm.\n\nFINDINGS:\n")])
    for sentence in r.sample(_FINDINGS, r.randint(3, 7)):
        b.add([(None, sentence + " ")])
    if r.random() < 0.5:
        b.add([(None, f"Also noted: {r.choice(lexicon.clinical_terms()).term}.")])
    b.add([(None, "\n\nIMPRESSION:\n")])
    for i, line in enumerate(r.sample(_IMPRESSIONS, r.randint(1, 3)), start=1):
        b.add([(None, f"{i}. {line}\n")])


def _communication(b: _Builder, pt: _Patient) -> None:
    r = pt.rng
    first, last = pt.person()
    exam = _phi(PhiType.DATE, pt.date_text(pt.exam))
    [
        lambda: b.fill("\nFindings were discussed with Dr. {name} by telephone at 14:05 on {d}.\n",
                       name=_phi(PhiType.NAME, last), d=exam),
        lambda: b.fill("\nd/w {name} {cred} at {phone}.\n", name=_name(pt, first, last, "first last"),
                       cred=[(None, r.choice(("RN", "NP", "PA")))], phone=_phi(PhiType.PHONE, _phone(pt))),
        lambda: b.fill("\nCritical result communicated to {name}, NP, who read back the findings, on {d}.\n",
                       name=_name(pt, first, last, r.choice(("first last", "f. last"))), d=exam),
        lambda: b.fill("\nPreliminary results called to the ED; spoke with {name}. Pager {pager}.\n",
                       name=_name(pt, first, last, "dr last"),
                       pager=_phi(PhiType.PHONE, f"{r.randint(2, 9)}-{r.randint(1000, 9999)}")),
        lambda: b.fill("\nThe patient's {who}, {name}, can be reached at {phone}. Home address: {address}.\n",
                       who=[(None, r.choice(("daughter", "son", "wife", "husband")))],
                       name=_name(pt, first, pt.last, "first last"), phone=_phi(PhiType.PHONE, _phone(pt)),
                       address=_address(pt)),
        lambda: None,
    ][r.randint(0, 5)]()


def _signature(b: _Builder, pt: _Patient) -> None:
    r = pt.rng
    first, last = pt.person()
    exam = _phi(PhiType.DATE, pt.date_text(pt.exam))
    [
        lambda: b.fill("\nElectronically signed by: {name}, {cred} on {d} 10:32\n",
                       name=_name(pt, first, last, r.choice(("first m. last", "first last"))),
                       cred=[(None, r.choice(_CREDENTIALS[:3]))], d=exam),
        lambda: b.fill("\nDictated by: {name}\nTranscribed by: {typist} {d}\n", name=_name(pt, first, last, "dr last"),
                       typist=_name(pt, *pt.person(), "f. last"), d=exam),
        lambda: b.fill("\nRead by: {name} M.D.\n", name=_name(pt, first, last, "last, first")),
        lambda: b.fill("\nI have personally reviewed the images and agree with the findings.\n{name}, MD\n",
                       name=_name(pt, first, last, "first last")),
    ][r.randint(0, 3)]()


def _footer(b: _Builder, pt: _Patient) -> None:
    r = pt.rng
    us = pt.fakes["en_US"]
    kinds = [
        ("Questions: call the reading room at {phone} or email {email}.\n",
         {"phone": _phi(PhiType.PHONE, _phone(pt)), "email": _phi(PhiType.EMAIL, us.email())}),
        ("Images available at {url}\n", {"url": _phi(PhiType.URL, us.url() + f"viewer/{r.randint(1000, 99999)}")}),
        ("Received from workstation {ip}.\n", {"ip": _phi(PhiType.IP, us.ipv4_private())}),
        ("SSN: {ssn}\n", {"ssn": _phi(PhiType.SSN, us.ssn())}),
        ("Fax results to {fax}.\n", {"fax": _phi(PhiType.FAX, _phone(pt))}),
    ]
    for template, slots in r.sample(kinds, r.randint(0, 2)):
        b.fill(template, **slots)


def generate(seed: int, count: int) -> list[AnnotatedReport]:
    """`count` synthetic reports; the same seed gives the same corpus."""
    rng = random.Random(seed)
    fakes = {}
    for i, locale in enumerate(sorted(set(_LOCALES))):
        fakes[locale] = Faker(locale)
        fakes[locale].seed_instance(seed * 1000 + i)
    reports = []
    for n in range(count):
        pt = _Patient(rng, fakes)
        b = _Builder()
        sections = [_history, _comparison, _findings, _communication, _signature]
        if rng.random() < 0.3:
            sections[0:2] = sections[1::-1]
        _header(b, pt)
        for section in sections:
            section(b, pt)
        _footer(b, pt)
        reports.append(AnnotatedReport("".join(b.parts), f"SYN{seed:04d}{n:05d}", tuple(b.spans)))
    return reports
