"""The trace matrix as one standalone HTML page (inline CSS, no scripts, nothing fetched)."""

from __future__ import annotations

from importlib.resources import files

import jinja2

from qms.traceability.items import ItemType
from qms.traceability.report import TraceReport

__all__ = ["TEMPLATE", "render_html"]

TEMPLATE = "trace.html.j2"


def render_html(report: TraceReport, device: str) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = env.from_string((files("qms.templates") / TEMPLATE).read_text(encoding="utf-8"))
    rows = sorted(report.rows.values(), key=lambda r: r.item.id)
    return template.render(
        device=device, head=report.head, passed=report.passed, gaps=report.gaps,
        requirements=[r for r in rows if r.item.type is ItemType.REQUIREMENT],
        controls=[r for r in rows if r.item.type is ItemType.RISK_CONTROL],
        roots=[r for r in rows if r.item.type in (ItemType.NEED, ItemType.HAZARD)],
        children=report.design.children, rows=report.rows,
    )
