"""Header conditions of the CTP DicomPixelAnonymizer script language, parsed into a small AST.

Grammar (CTP's DicomPixelAnonymizer / DicomFilter script syntax):
    expr    := term ("+" term)*            # "+" is or
    term    := factor ("*" factor)*        # "*" is and
    factor  := "!" factor | "(" expr ")" | "true." | "false." | element "." method "(" [string] ")"
    element := DICOM keyword | "[gggg,eeee]"
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag

from qms.deid.pixels.header import Header

__all__ = ["AllOf", "AnyOf", "Condition", "ConditionSyntaxError", "Constant", "METHODS", "Matcher",
           "NO_ARGUMENT_METHODS", "Not", "Test", "parse_condition"]

Matcher = Callable[[str, str], bool]


def _full_match(value: str, pattern: str) -> bool:
    return re.fullmatch(pattern, value, flags=re.DOTALL) is not None


def _number(text: str) -> float | None:
    try:
        return float(text.split("\\")[0])
    except ValueError:
        return None


def _less(value: str, arg: str) -> bool:
    a, b = _number(value), _number(arg)
    return a is not None and b is not None and a < b


def _greater(value: str, arg: str) -> bool:
    a, b = _number(value), _number(arg)
    return a is not None and b is not None and a > b


METHODS: dict[str, Matcher] = {
    "equals": lambda v, a: v == a,
    "equalsIgnoreCase": lambda v, a: v.lower() == a.lower(),
    "contains": lambda v, a: a in v,
    "containsIgnoreCase": lambda v, a: a.lower() in v.lower(),
    "startsWith": lambda v, a: v.startswith(a),
    "startsWithIgnoreCase": lambda v, a: v.lower().startswith(a.lower()),
    "endsWith": lambda v, a: v.endswith(a),
    "endsWithIgnoreCase": lambda v, a: v.lower().endswith(a.lower()),
    "matches": _full_match,
    "isLessThan": _less,
    "isGreaterThan": _greater,
}
NO_ARGUMENT_METHODS: dict[str, Callable[[str], bool]] = {
    "isBlank": lambda v: not v.strip(),
    "exists": lambda v: bool(v),
}


class ConditionSyntaxError(ValueError):
    """A condition does not follow the grammar; `offset` is the character where parsing stopped."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at character {offset + 1})")
        self.offset = offset


class Condition:
    """A node of a parsed condition; `holds(ds)` evaluates it against a dataset's header."""

    def holds(self, ds: Dataset | Header) -> bool:
        return self.evaluate(ds if isinstance(ds, Header) else Header(ds))

    def evaluate(self, header: Header) -> bool:
        raise NotImplementedError

    def tags(self) -> frozenset[int]:
        """Every tag the condition reads."""
        children = getattr(self, "operands", None) or ((self.operand,) if isinstance(self, Not) else ())
        return frozenset().union(*(c.tags() for c in children))


@dataclass(frozen=True)
class Constant(Condition):
    value: bool

    def evaluate(self, header: Header) -> bool:
        return self.value


@dataclass(frozen=True)
class Not(Condition):
    operand: Condition

    def evaluate(self, header: Header) -> bool:
        return not self.operand.evaluate(header)


@dataclass(frozen=True)
class AllOf(Condition):
    operands: tuple[Condition, ...]

    def evaluate(self, header: Header) -> bool:
        return all(c.evaluate(header) for c in self.operands)


@dataclass(frozen=True)
class AnyOf(Condition):
    operands: tuple[Condition, ...]

    def evaluate(self, header: Header) -> bool:
        return any(c.evaluate(header) for c in self.operands)


@dataclass(frozen=True)
class Test(Condition):
    """`element.method("argument")`: one comparison of an element's value."""

    element: str
    tag: BaseTag
    method: str
    argument: str | None

    def tags(self) -> frozenset[int]:
        return frozenset({int(self.tag)})

    def evaluate(self, header: Header) -> bool:
        value = header.value(self.tag)
        if self.argument is None:
            return NO_ARGUMENT_METHODS[self.method](value)
        return METHODS[self.method](value, self.argument)


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<tag>\[\s*[0-9A-Fa-f]{4}\s*,\s*[0-9A-Fa-f]{4}\s*\])
      | (?P<const>true\.|false\.)
      | (?P<name>[A-Za-z][A-Za-z0-9]*)
      | (?P<op>[()*+!.])
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            start = len(text) - len(text[pos:].lstrip())
            raise ConditionSyntaxError(f"unexpected character {text[start]!r}", start)
        tokens.append((match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.end = len(text)

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _next(self, what: str) -> tuple[str, str, int]:
        token = self._peek()
        if token is None:
            raise ConditionSyntaxError(f"expected {what}, found the end of the condition", self.end)
        self.i += 1
        return token

    def _expect(self, value: str) -> None:
        kind, text, offset = self._next(repr(value))
        if text != value or kind not in ("op",):
            raise ConditionSyntaxError(f"expected {value!r}, found {text!r}", offset)

    def parse(self) -> Condition:
        condition = self._expr()
        token = self._peek()
        if token is not None:
            raise ConditionSyntaxError(f"unexpected {token[1]!r}", token[2])
        return condition

    def _expr(self) -> Condition:
        operands = [self._term()]
        while (token := self._peek()) is not None and token[1] == "+":
            self.i += 1
            operands.append(self._term())
        return operands[0] if len(operands) == 1 else AnyOf(tuple(operands))

    def _term(self) -> Condition:
        operands = [self._factor()]
        while (token := self._peek()) is not None and token[1] == "*":
            self.i += 1
            operands.append(self._factor())
        return operands[0] if len(operands) == 1 else AllOf(tuple(operands))

    def _factor(self) -> Condition:
        kind, text, offset = self._next("a condition")
        if text == "!" and kind == "op":
            return Not(self._factor())
        if text == "(" and kind == "op":
            inner = self._expr()
            self._expect(")")
            return inner
        if kind == "const":
            return Constant(text == "true.")
        if kind in ("name", "tag"):
            return self._test(kind, text, offset)
        raise ConditionSyntaxError(f"expected an element, '!', '(' or true./false., found {text!r}", offset)

    def _test(self, kind: str, text: str, offset: int) -> Test:
        if kind == "tag":
            group, elem = (part.strip() for part in text.strip("[]").split(","))
            tag = Tag(int(group, 16), int(elem, 16))
            name = f"[{group.upper()},{elem.upper()}]"
        else:
            number = tag_for_keyword(text)
            if number is None:
                raise ConditionSyntaxError(f"unknown DICOM keyword {text!r}", offset)
            tag, name = Tag(number), text
        self._expect(".")
        _, method, method_at = self._next("a method name")
        if method not in METHODS and method not in NO_ARGUMENT_METHODS:
            known = ", ".join(sorted([*METHODS, *NO_ARGUMENT_METHODS]))
            raise ConditionSyntaxError(f"unknown method {method!r} (known: {known})", method_at)
        self._expect("(")
        argument: str | None = None
        if method in METHODS:
            kind_arg, literal, at = self._next("a quoted string")
            if kind_arg != "string":
                raise ConditionSyntaxError(f"{method} takes a quoted string, found {literal!r}", at)
            argument = re.sub(r"\\(.)", r"\1", literal[1:-1])
            if method == "matches":
                try:
                    re.compile(argument)
                except re.error as exc:
                    raise ConditionSyntaxError(f"matches takes a regular expression: {exc}", at) from exc
        self._expect(")")
        return Test(name, tag, method, argument)


def parse_condition(text: str) -> Condition:
    """Parse the text between `{` and `}` of a rule; raises ConditionSyntaxError."""
    return _Parser(text).parse()
