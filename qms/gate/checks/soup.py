"""Check 5: the SOUP list is current (IEC 62304 §8.1.2, §5.3.3, §7.1.3)."""

from __future__ import annotations

from collections.abc import Iterable

from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.policy import Criterion

__all__ = ["SoupCurrent"]


class SoupCurrent(Criterion[GateContext]):
    """Every reviewed dependency is installed at the version its review covers."""

    name = "soup"
    title = "SOUP list current"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        soup = ctx.soup
        out = [self.finding(f"SOUP:{e.name}", f"listed in the soup file ({e.where}) but not installed",
                            "remove the entry or install the dependency") for e in soup.unmatched]
        for item in soup.items:
            e, d = item.entry, item.distribution
            if e is not None and e.version != d.version:
                out.append(self.finding(f"SOUP:{d.name}", f"reviewed at version {e.version}, installed {d.version}",
                                        f"review {d.name} {d.version} (anomalies, requirements) and update {e.where}"))
        return out, len(soup.items)
