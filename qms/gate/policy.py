"""Gate criteria as small policy objects that compose and fail closed (STYLE habit 8).

A check that cannot run (a capability missing, a record unreadable, a bug) is a finding,
never a silent pass: the gate says "fail" and names why.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from qms.errors import QmsError
from qms.findings import Finding
from qms.gate.findings import CheckOutcome, NotApplicable, Verdict, finding_order

__all__ = ["AllOf", "Criterion"]

C = TypeVar("C")


class Criterion(ABC, Generic[C]):
    """One gate criterion: yields findings about a context; `examined` counts what it looked at."""

    name: str
    title: str

    @abstractmethod
    def run(self, ctx: C) -> tuple[Iterable[Finding], int]:
        """The findings and the number of items examined."""

    def finding(self, item: str, reason: str, hint: str = "") -> Finding:
        """A finding of this criterion about `item` (never empty: a gate finding names what it concerns)."""
        if not item:
            raise ValueError("a gate finding needs an item")
        return Finding(self.name, item, reason, hint)

    def evaluate(self, ctx: C) -> CheckOutcome:
        """Run the check; an exception becomes a finding (fail closed)."""
        try:
            findings, examined = self.run(ctx)
            found = tuple(sorted(findings, key=finding_order))
        except QmsError as exc:
            found = (self.finding(exc.where or self.name, f"the check could not run: {exc.message}",
                                  exc.hint or "fix the cause and run `qms verify` again"),)
            examined = 0
        except Exception as exc:  # noqa: BLE001 - fail closed on anything unexpected
            found = (self.finding(self.name, f"the check could not run: {type(exc).__name__}: {exc}",
                                  "this is a fault in qmskit or its input; report it"),)
            examined = 0
        return CheckOutcome(self.name, self.title, found, examined)


class AllOf(Generic[C]):
    """Every check must pass; all of them run, so one report names every gap.

    `not_applicable` names the criteria this gate was composed without, each with its reason;
    the verdict carries them so a pass is never read as covering them.
    """

    def __init__(self, checks: Sequence[Criterion[C]], not_applicable: Sequence[NotApplicable] = ()) -> None:
        if not checks:
            raise ValueError("a gate with no checks would pass anything")
        names = [c.name for c in checks] + [n.check for n in not_applicable]
        if len(set(names)) != len(names):
            raise ValueError(f"check names must be unique, and a check run is not also not applicable: {names}")
        self.checks = tuple(checks)
        self.not_applicable = tuple(not_applicable)

    def evaluate(self, ctx: C, subject: dict[str, object] | None = None) -> Verdict:
        return Verdict(tuple(c.evaluate(ctx) for c in self.checks), dict(subject or {}), self.not_applicable)
