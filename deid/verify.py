"""Residual-PHI verification: the source's identifying values, and what the detectors find on their own.

From each source file it collects what the profile requires to go (names and their parts,
ids, addresses, dates that must be shifted, UIDs that must be replaced, removed free text
and private values) and searches every element of the paired output, file meta, nested
sequences and private elements included, its file name, and the pixel regions the
manifest says were masked. Independently of what the source's header held, every text
element of every output goes through the PHI detector (`qms.deid.residual_text`) and its
pixel data through the text search (`qms.deid.pixels.find_residual_text`), so an SSN typed
into a comment or a name burned into unflagged pixels is found too. Each leak is a
`qms.findings.Finding`: the output file as its item, the output tag path as where, the
source tag or the PHI type as its reason, never the value.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from dataclasses import dataclass, replace
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import Tag

from qms.compute.engine import Engine
from qms.compute.local import LocalEngine
from qms.deid.dataset import CODED_IDENTITIES, DICOM_UID_ROOT
from qms.deid.lenient import settle
from qms.deid.names import dataset_hints, holds_phi
from qms.deid.options import DeidOptions
from qms.deid.pixels import MaskedRegion, PixelOptions, check_regions_blank, find_residual_text
from qms.deid.pixels.textcheck import reads_with_ocr
from qms.deid.profile import Action, ActionTable, ProfileOption
from qms.deid.residual_text import SourceValues, TextScan, walk
from qms.deid.sortruns import RUN
from qms.deid.values import cap_age
from qms.deid.verify_pairs import Check, Plan, plan_checks
from qms.findings import Finding

__all__ = ["RESIDUAL_PHI", "VerifyReport", "verify"]

RESIDUAL_PHI = "deid-residual-phi"
_HINT = "do not share this output: find why the options kept the value (retained, private or unlisted element)"
_NAME_HINT = ("do not share this output: rename it (`qms deid dicom` with output_names \"mirror\" replaces a name "
              "part holding PHI by its keyed pseudonym)")
FILE_NAME = "(file name)"

_CANDIDATE_VRS = frozenset({"PN", "LO", "SH", "LT", "ST", "UT", "UC", "AE", "DA", "DT", "UI", "UR", "AS"})
_MIN_LENGTH = 4
_WORD = re.compile(r"[^\W_]+")  # any script's letters: a Cyrillic or Han name part is a word too
_OUR_DUMMIES = frozenset({"ANONYMIZED", "19000101", "19000101000000", "URN:ANONYMIZED", "[REMOVED]"})


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of one verify run; `leaks` are findings of `RESIDUAL_PHI`, of the text and pixel detectors
    (`residual_text.TEXT_PHI`, `pixels.textcheck.PIXEL_TEXT`) and of masked regions not blank."""

    files_checked: int
    unpaired: tuple[str, ...]
    leaks: tuple[Finding, ...]
    pixel_text: str = "shape search"
    """How the pixels were searched for text: by shape alone, or read with OCR too (and in which mode)."""

    @property
    def clean(self) -> bool:
        return not self.leaks

    def to_json(self) -> dict[str, Any]:
        return {"clean": self.clean, "files_checked": self.files_checked, "unpaired": list(self.unpaired),
                "pixel_text": self.pixel_text, "leaks": [leak.to_json() for leak in self.leaks]}


@dataclass(frozen=True)
class _Candidate:
    value: str
    source_tag: str
    kind: str
    word: bool  # a name part: matched as a whole word, not as a substring


def _read(path: Path) -> Dataset | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return settle(dcmread(path, force=True))  # an element pydicom cannot convert is kept as UN bytes
    except Exception:  # an unreadable file holds nothing this scan can search; counted as unpaired
        return None


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, (MultiValue, list)) else [value]
    return [str(v).strip().rstrip("\x00").strip().upper() for v in items if v is not None]


def _candidates(ds: Dataset, table: ActionTable, options: DeidOptions) -> list[_Candidate]:
    shift = options.has(ProfileOption.RETAIN_LONG_MODIFIED_DATES)
    out: list[_Candidate] = []
    kept: list[str] = []
    coded = tuple(f"{Tag(t)}[" for t in CODED_IDENTITIES
                  if (r := table.exact.get(t)) is not None and r.action is not Action.K)
    for path, elem in walk(ds):
        tag = int(elem.tag)
        if elem.VR not in _CANDIDATE_VRS or tag >> 16 == 0x0002:
            continue
        values = [v for v in _values(elem.value) if len(v) >= _MIN_LENGTH]
        if elem.tag.is_private:
            if elem.tag.element > 0x00FF:
                out += [_Candidate(v, path, "private " + elem.VR, False) for v in values]
            continue
        rule = table.exact.get(tag)
        action = rule.action if rule else None
        must_go = action not in (None, Action.K, Action.C) or (
            elem.VR in ("DA", "DT") and shift and action is not Action.K) or any(c in path for c in coded)
        if elem.VR == "AS":
            values = [v for v in values if cap_age(v) != v]
            must_go = bool(values)
        if elem.VR == "UI":
            values = [v for v in values if not v.startswith(DICOM_UID_ROOT)]
            must_go = must_go and not options.has(ProfileOption.RETAIN_UIDS)
        if not must_go:
            if action is not Action.C:  # a cleaned text's source value holds what it had to lose
                kept += values
            continue
        out += [_Candidate(v, path, elem.VR, False) for v in values]
        if elem.VR == "PN":
            out += [_Candidate(part, path, "PN part", True) for v in values
                    for part in _WORD.findall(v) if len(part) >= 3]  # "O'BRIEN-SMITH": BRIEN, SMITH
    return [c for c in out if c.value not in _OUR_DUMMIES and not any(c.value in k for k in kept)]


def _output_strings(ds: Dataset) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path, elem in walk(ds):
        value = elem.value
        if isinstance(value, (bytes, bytearray)):
            found.append((path, bytes(value[:1 << 20]).decode("latin-1").upper()))
        else:
            found += [(path, v) for v in _values(value)]
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        found += [(str(e.tag), v) for e in meta for v in _values(e.value) if not isinstance(e.value, bytes)]
    preamble = getattr(ds, "preamble", None)
    if preamble:
        found.append(("(preamble)", bytes(preamble).decode("latin-1").upper()))
    return found


def _leaks(rel: str, candidates: list[_Candidate], output: Dataset) -> list[Finding]:
    leaks: list[Finding] = []
    strings = _output_strings(output)
    for cand in candidates:
        for path, text in strings:
            if _holds(cand, text):
                leaks.append(Finding(RESIDUAL_PHI, rel, f"holds the value of source {cand.source_tag} ({cand.kind})",
                                     _HINT, path))
    return leaks


def _holds(cand: _Candidate, text: str) -> bool:
    return cand.value in _WORD.findall(text) if cand.word else cand.value in text


def _name_leaks(item: str, name: str, known: Dataset | None, candidates: list[_Candidate],
                where: str = FILE_NAME, output: Dataset | None = None) -> list[Finding]:
    """One finding when a component of `name` (a relative path) holds PHI: found by the detector with the
    hints of `known` (the source, else the output), or holding a value the source had to lose
    (`candidates`): the rule `qms.deid.names` renames by. The UIDs of `output` itself (named by its new
    SOPInstanceUID) are no finding: the comparison with the source checks them."""
    hints = None if known is None else dataset_hints(known)
    own = frozenset() if output is None else frozenset(v for e in output if e.VR == "UI" for v in _values(e.value))
    parts = name.split("/")
    found = [i for i, part in enumerate(parts, 1)
             if holds_phi(part, hints, own) or any(_holds(c, part.upper()) for c in candidates)]
    if not found:
        return []
    listed = ", ".join(str(i) for i in found)
    return [Finding(RESIDUAL_PHI, item, f"the name holds PHI (path component {listed} of {len(parts)}; "
                                        "value not shown)", _NAME_HINT, where)]


def _manifest_leaks(plan: Plan) -> list[Finding]:
    """The names OUT's manifest records for files not in OUT (outputs, and quarantined inputs in manifests of
    older versions) go through the name check: the manifest is shared with OUT. The name of an output in OUT
    is checked with its file, by the same rule."""
    found = [(named.order, leak) for named in plan.named()
             for leak in _name_leaks(str(plan.manifest), named.name, None, [], named.where)]
    return [leak for _, leak in sorted(found, key=itemgetter(0))]


def verify(out_dir: Path, in_dir: Path, *, engine: Engine | None = None, run: int = RUN,
           pixels: PixelOptions | None = None) -> VerifyReport:
    """Search every output of `out_dir` for the identifying values of its source in `in_dir`; `engine`
    (`qms.compute`, default this process) checks the files, this process gathers the findings. The manifest
    (either schema) and both folders are streamed (`qms.deid.verify_pairs`, sort runs of `run` records): memory
    is flat in the number of files, but for what is reported. `pixels`: the OCR settings the pixel check reads text
    with too (`qms.deid.pixels.textcheck`); None: by shape alone."""
    with tempfile.TemporaryDirectory(prefix="qms-deid-verify-") as folder:
        plan = plan_checks(out_dir, in_dir, Path(folder), run=run)
        check = _PairCheck(out_dir, plan.options, pixels)
        checked, kept = 0, []
        for result in (engine or LocalEngine()).map(check, plan.checks()):
            checked += result.checked
            if result.leaks or not result.checked:  # what the report names: clean, checked files are counted
                kept.append(result)
        manifest_leaks = _manifest_leaks(plan)
    kept.sort(key=lambda r: (r.source is not None, r.rel))  # unpaired first, each group by name
    unpaired = [r.rel for r in kept if r.source is None]
    unread = [r.rel for r in kept if r.source is not None and not r.checked]
    leaks = [leak for r in kept for leak in r.leaks] + manifest_leaks
    read = f"shape search and OCR ({pixels.ocr.value})" if pixels is not None and reads_with_ocr(pixels) else "shape search"
    return VerifyReport(checked, tuple(sorted(unpaired + unread)), tuple(leaks), read)


@dataclass(frozen=True)
class _Checked:
    rel: str
    source: Path | None
    checked: int
    leaks: list[Finding]


@dataclass(frozen=True)
class _PairCheck:
    """The per-file work an engine runs: one output against its source (None: the detectors alone)."""

    out_dir: Path
    options: DeidOptions
    pixels: PixelOptions | None

    @cached_property
    def table(self) -> ActionTable:
        return ActionTable(self.options.options)

    @cached_property
    def scan(self) -> TextScan:
        return TextScan(frozenset(tag for tag, rule in self.table.exact.items() if rule.action is Action.K))

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("table", "scan")}  # built where it runs

    def __call__(self, item: Check) -> _Checked:
        rel, source = item.rel, item.source
        leaks: list[Finding] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if source is None:  # no source to compare with: the detectors still look
                output = _read(self.out_dir / rel)
                found = _name_leaks(rel, rel, output, [], output=output)
                return _Checked(rel, None, 0, found + ([] if output is None else
                                                       _detected(rel, output, None, self.scan, self.pixels)))
            checked = _check_pair(self.out_dir, rel, source, self.table, self.options, list(item.regions),
                                  leaks, [], self.scan, self.pixels)
        return _Checked(rel, source, checked, leaks)


def _detected(rel: str, output: Dataset, source: Dataset | None, scan: TextScan,
              pixels: PixelOptions | None) -> list[Finding]:
    """What the PHI detector finds in the output's text and the text search in its pixels."""
    known = None if source is None else SourceValues.of(source)
    return scan.findings(rel, output, known) + find_residual_text(output, rel, pixels)


def _check_pair(out_dir: Path, rel: str, source_path: Path, table: ActionTable, options: DeidOptions,
                regions: list[MaskedRegion], leaks: list[Finding], unpaired: list[str], scan: TextScan,
                pixels: PixelOptions | None) -> int:
    """Check one output against its source; 1 when checked, 0 when either cannot be read."""
    source, output = _read(source_path), _read(out_dir / rel)
    candidates = [] if source is None else _candidates(source, table, options)
    leaks += _name_leaks(rel, rel, source if source is not None else output, candidates, output=output)
    if output is not None:
        leaks += _detected(rel, output, source, scan, pixels)
    if source is None or output is None:
        unpaired.append(rel)
        return 0
    leaks += _leaks(rel, candidates, output)
    leaks += [replace(f, item=rel) for f in check_regions_blank(output, regions)]
    return 1
