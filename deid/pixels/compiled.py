"""The region library's conditions compiled once into closures, so a file evaluates only what can match.

Same results as `Condition.evaluate` on every header, by construction:
- each distinct test `(tag, method, argument)` is evaluated at most once per header (tests are pure
  functions of one element's value; `Header.value` caches the value);
- rules whose condition opens with the same test (its first conjunct, e.g. `Modality.equals("US")`)
  share a guard: when the guard is false, none of them is looked at further. The guard is the
  test `Condition.evaluate` reads first for each of these rules, so the set of elements read,
  and any error a read raises, is the same as with the plain evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from qms.deid.pixels.conditions import METHODS, NO_ARGUMENT_METHODS, AllOf, AnyOf, Condition, Constant, Not, Test
from qms.deid.pixels.header import Header

if TYPE_CHECKING:
    from qms.deid.pixels.library import RegionRule

__all__ = ["CompiledRules"]

Memo = list[bool | None]
Compiled = Callable[[Header, Memo], bool]
TestKey = tuple[int, str, str | None]


def _matcher(method: str, argument: str | None) -> Callable[[str], bool]:
    """One method bound to its argument, the case-folded argument computed once."""
    if argument is None:
        plain: Callable[[str], bool] = NO_ARGUMENT_METHODS[method]
        return plain
    low = argument.lower()
    fast: dict[str, Callable[[str], bool]] = {
        "equals": lambda v: v == argument,
        "equalsIgnoreCase": lambda v: v.lower() == low,
        "contains": lambda v: argument in v,
        "containsIgnoreCase": lambda v: low in v.lower(),
        "startsWith": lambda v: v.startswith(argument),
        "startsWithIgnoreCase": lambda v: v.lower().startswith(low),
        "endsWith": lambda v: v.endswith(argument),
        "endsWithIgnoreCase": lambda v: v.lower().endswith(low),
    }
    general = METHODS[method]
    return fast.get(method) or (lambda v: general(v, argument))


class _Compiler:
    """Turns conditions into closures over a shared table of distinct tests."""

    def __init__(self) -> None:
        self.index: dict[TestKey, int] = {}

    def test_slot(self, test: Test) -> int:
        return self.index.setdefault((int(test.tag), test.method, test.argument), len(self.index))

    def compile(self, condition: Condition) -> Compiled:
        if isinstance(condition, Test):
            return self._test(condition)
        if isinstance(condition, Constant):
            value = condition.value
            return lambda header, memo: value
        if isinstance(condition, Not):
            inner = self.compile(condition.operand)
            return lambda header, memo: not inner(header, memo)
        if isinstance(condition, AllOf):
            parts = tuple(self.compile(c) for c in condition.operands)
            return lambda header, memo: all(p(header, memo) for p in parts)
        if isinstance(condition, AnyOf):
            parts = tuple(self.compile(c) for c in condition.operands)
            return lambda header, memo: any(p(header, memo) for p in parts)
        raise TypeError(f"cannot compile condition node {type(condition).__name__}")

    def _test(self, test: Test) -> Compiled:
        slot, tag, match = self.test_slot(test), int(test.tag), _matcher(test.method, test.argument)

        def run(header: Header, memo: Memo) -> bool:
            result = memo[slot]
            if result is None:
                result = memo[slot] = match(header.value(tag))
            return result

        return run


def _first_test(condition: Condition) -> Test | None:
    """The test `evaluate` reads first and which must hold for the condition to hold, if there is one."""
    if isinstance(condition, Test):
        return condition
    if isinstance(condition, AllOf) and isinstance(condition.operands[0], Test):
        return condition.operands[0]
    return None


class CompiledRules:
    """Rules grouped by their opening test; `matching` gives the indices of those that hold, in order."""

    def __init__(self, rules: Sequence[RegionRule]) -> None:
        compiler = _Compiler()
        groups: dict[int | None, list[tuple[int, Compiled]]] = {}
        for i, rule in enumerate(rules):
            first = _first_test(rule.condition)
            guard = None if first is None else compiler.test_slot(first)
            groups.setdefault(guard, []).append((i, compiler.compile(rule.condition)))
        self._unguarded = tuple(groups.pop(None, ()))
        guards = {compiler.test_slot(test): compiler.compile(test) for test in _tests_of(rules)}
        self._guarded = tuple((guards[slot], tuple(members)) for slot, members in groups.items() if slot is not None)
        self._tests = len(compiler.index)

    def matching(self, header: Header) -> list[int]:
        """Indices (file order) of the rules whose condition holds for `header`."""
        memo: Memo = [None] * self._tests
        hits = [i for i, rule in self._unguarded if rule(header, memo)]
        for guard, members in self._guarded:
            if guard(header, memo):
                hits.extend(i for i, rule in members if rule(header, memo))
        hits.sort()
        return hits


def _tests_of(rules: Sequence[RegionRule]) -> list[Test]:
    """The opening test of every rule that has one."""
    return [t for rule in rules if (t := _first_test(rule.condition)) is not None]
