"""The burned-in annotation region library: CTP DicomPixelAnonymizer script, parsed into rules.

A rule is a header condition in braces followed by one or more rectangles `(x,y,w,h)`; any
other line is a title or a comment. The shipped copy is `qms/deid/data/ctp-burned-in-
annotation-library.script` (RSNA CTP, see its PROVENANCE file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from importlib import resources
from pathlib import Path

from pydicom.dataset import Dataset

from qms.deid.pixels.compiled import CompiledRules
from qms.deid.pixels.conditions import Condition, ConditionSyntaxError, parse_condition
from qms.deid.pixels.errors import RegionLibraryError
from qms.deid.pixels.header import Header
from qms.deid.pixels.report import Rectangle

__all__ = ["LIBRARY_RESOURCE", "RegionLibrary", "RegionRule", "default_library", "load_library"]

LIBRARY_RESOURCE = "ctp-burned-in-annotation-library.script"
_RECTANGLE = re.compile(r"\(\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)")
_SECTION_RULE = re.compile(r"^\s*\*{3,}\s*$")


@dataclass(frozen=True)
class RegionRule:
    """One library rule: where it is written, its title, its condition and its rectangles."""

    where: str
    """`file:line` of the opening brace."""
    title: str
    condition_text: str
    condition: Condition
    rectangles: tuple[Rectangle, ...]

    def matches(self, ds: Dataset | Header) -> bool:
        return bool(self.condition.holds(ds))

    @property
    def label(self) -> str:
        return f"{self.where} {self.title}".strip()


@dataclass(frozen=True)
class RegionLibrary:
    """The parsed rules of one script, in file order."""

    source: str
    rules: tuple[RegionRule, ...]

    @cached_property
    def tags(self) -> frozenset[int]:
        """Every tag some rule's condition reads: looked up together, in one walk of the sequences."""
        return frozenset().union(*(rule.condition.tags() for rule in self.rules))

    @cached_property
    def compiled(self) -> CompiledRules:
        """The conditions compiled once: shared tests evaluated once, rules skipped by their opening test."""
        return CompiledRules(self.rules)

    def matching(self, ds: Dataset, source: bytes | None = None) -> tuple[RegionRule, ...]:
        """The rules whose condition holds for this header (all of them apply, as in CTP), in file order.

        `source`: the bytes `ds` was parsed from (not deflated), to skip looking for absent tags."""
        header = Header(ds, self.tags, source)
        return tuple(self.rules[i] for i in self.compiled.matching(header))

    @classmethod
    def from_text(cls, text: str, source: str) -> RegionLibrary:
        return cls(source, tuple(_parse(text, source)))

    @classmethod
    def from_path(cls, path: Path) -> RegionLibrary:
        try:
            text = path.read_text(encoding="utf-8", errors="strict")
        except (OSError, UnicodeDecodeError) as exc:
            raise RegionLibraryError(f"cannot read the region library: {exc}", where=str(path)) from exc
        return cls.from_text(text, str(path))


def load_library(path: Path) -> RegionLibrary:
    """A site's library file, parsed once per version of the file (path, size and mtime)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise RegionLibraryError(f"cannot read the region library: {exc}", where=str(path)) from exc
    return _load(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=8)
def _load(path: str, size: int, mtime_ns: int) -> RegionLibrary:
    return RegionLibrary.from_path(Path(path))


@cache
def default_library() -> RegionLibrary:
    """The shipped CTP library (parsed once per process)."""
    text = resources.files("qms.deid").joinpath("data", LIBRARY_RESOURCE).read_text(encoding="utf-8")
    return RegionLibrary.from_text(text, LIBRARY_RESOURCE)


def _parse(text: str, source: str) -> list[RegionRule]:
    """Rules in file order; a banner between two lines of asterisks names the section."""
    lines = text.splitlines()
    rules: list[RegionRule] = []
    section, title = "", ""
    pending: list[str] = []
    in_banner = False
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if _SECTION_RULE.match(line):
            in_banner = not in_banner
            i += 1
            continue
        if not line.startswith("{"):
            if "{" in line:
                raise RegionLibraryError("a condition's '{' must open its line", where=f"{source}:{i + 1}")
            if "}" in line:
                raise RegionLibraryError("'}' without an opening '{'", where=f"{source}:{i + 1}")
            if line and in_banner:
                section, title, pending = line, "", []
            elif line:
                pending.append(line)
            i += 1
            continue
        start = i
        title, pending = (" / ".join(pending), []) if pending else (title, [])
        condition_text, i = _condition_block(lines, i, source)
        try:
            condition = parse_condition(condition_text)
        except ConditionSyntaxError as exc:
            raise RegionLibraryError(f"malformed condition: {exc}", where=f"{source}:{start + 1}") from exc
        rectangles, i = _rectangles(lines, i, source, start)
        name = " / ".join(part for part in (section, title) if part)
        rules.append(RegionRule(f"{source}:{start + 1}", name, condition_text.strip(), condition, rectangles))
    return rules


def _condition_block(lines: list[str], i: int, source: str) -> tuple[str, int]:
    """The text between `{` (on line i) and its `}`, and the index of the line after it."""
    parts: list[str] = []
    first = lines[i].strip()[1:]
    j = i
    current = first
    while "}" not in current:
        parts.append(current)
        j += 1
        if j >= len(lines) or lines[j].strip().startswith("{"):
            raise RegionLibraryError("condition opened with '{' is never closed with '}'", where=f"{source}:{i + 1}")
        current = lines[j]
    head, _, tail = current.partition("}")
    parts.append(head)
    if tail.strip():
        lines[j] = tail
        return " ".join(parts), j
    return " ".join(parts), j + 1


def _rectangles(lines: list[str], i: int, source: str, start: int) -> tuple[tuple[Rectangle, ...], int]:
    """The rectangles of the rule opened on line `start`, from line i on, and the line after them."""
    found: list[Rectangle] = []
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines) and lines[i].strip().startswith("("):
        line = lines[i].strip()
        rest = _RECTANGLE.sub("", line)
        if rest.strip():
            raise RegionLibraryError(
                f"malformed rectangle line {line!r}: expected (x,y,w,h) groups of integers", where=f"{source}:{i + 1}"
            )
        found.extend(Rectangle(*(int(g) for g in m.groups())) for m in _RECTANGLE.finditer(line))
        i += 1
    if not found:
        raise RegionLibraryError("rule has no rectangle (x,y,w,h) after its condition", where=f"{source}:{start + 1}")
    return tuple(found), i
