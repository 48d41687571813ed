"""From the release's evidence to each document's template data and its machine-readable attachments."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from qms.documents.catalogue import DocumentKind as D
from qms.documents.evidence import Evidence
from qms.documents.render import Attachment

__all__ = ["FULL_MATRIX_ROWS", "attachments", "document_data"]

FULL_MATRIX_ROWS = 300
"""Above this, the trace matrix prints its grouped view only (weasyprint: ~14 ms, 0.2 MB per row)."""


def _json(name: str, data: Any, description: str) -> Attachment:
    return Attachment(name, json.dumps(data, indent=2, sort_keys=True, default=str).encode(), description)


def _csv(name: str, rows: list[dict[str, Any]], description: str) -> Attachment:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: " ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    return Attachment(name, buf.getvalue().encode(), description, "text/csv")


def _groups(ev: Evidence) -> list[dict[str, Any]]:
    """Per top-level item (need or hazard): how many of its descendants are verified."""
    children: dict[str, list[str]] = {}
    for i in ev.items:
        for p in i.get("parents", []):
            children.setdefault(p, []).append(i["id"])
    verified = {r["item"]: r["verified"] for r in ev.trace_rows}
    out = []
    for top in ev.items_of("need", "hazard"):
        seen: set[str] = set()
        stack = list(children.get(top["id"], []))
        while stack:
            cur = stack.pop()
            if cur not in seen:
                seen.add(cur)
                stack.extend(children.get(cur, []))
        rows = [s for s in seen if s in verified]
        out.append({"id": top["id"], "title": top["title"], "total": len(rows), "verified": sum(verified[s] for s in rows)})
    return out


def _hazards(ev: Evidence) -> list[dict[str, Any]]:
    controls: dict[str, list[str]] = {}
    for c in ev.items_of("risk_control"):
        for p in c.get("parents", []):
            controls.setdefault(p, []).append(c["id"])
    verified = {r["item"]: r["verified"] for r in ev.trace_rows}
    return [{**h, "risk_before": h.get("risk_before", ""), "risk_after": h.get("risk_after", ""),
             "controls": controls.get(h["id"], []),
             "verified": bool(controls.get(h["id"])) and all(verified.get(c, False) for c in controls[h["id"]])}
            for h in ev.items_of("hazard")]


def _residual(ev: Evidence) -> list[dict[str, Any]]:
    return [a for a in ev.anomalies if a["status"] != "resolved"]


def _by_kind(ev: Evidence, kind: str) -> list[dict[str, Any]]:
    return [p for p in ev.validation if p.get("kind") == kind]


_DATA: dict[D, Callable[[Evidence], dict[str, Any]]] = {
    D.DHF_INDEX: lambda ev: {"documents": [{"id": f"{k.value.upper()}-{ev.release['version']}", "title": k.heading,
                                            "file": f"{k.value}.pdf"} for k in D],
                             "deliverables": ev.deliverables},
    D.SDP: lambda ev: {"hazards": ev.items_of("hazard"), "soup_count": len(ev.soup.get("components", [])),
                       "native_count": len(ev.soup.get("native", []))},
    D.SRS: lambda ev: {"groups": [{"title": "User needs", "items": ev.items_of("need")},
                                  {"title": "Software requirements", "items": ev.items_of("requirement")},
                                  {"title": "Risk controls", "items": ev.items_of("risk_control")}]},
    D.ARCHITECTURE: lambda ev: {"architecture": ev.items_of("architecture")},
    D.TRACE: lambda ev: {"rows": ev.trace_rows, "groups": _groups(ev), "full": len(ev.trace_rows) <= FULL_MATRIX_ROWS,
                         "gaps": [{"item": r["item"], "reason": r.get("reason") or r["status"]}
                                  for r in ev.trace_rows if not r["verified"]]},
    D.TEST_REPORT: lambda ev: {"tests": ev.tests, "totals": {o: sum(1 for t in ev.tests if t["outcome"] == o)
                                                             for o in sorted({t["outcome"] for t in ev.tests})}},
    D.VALIDATION: lambda ev: {"protocols": _by_kind(ev, "performance")},
    D.BIAS: lambda ev: {"protocols": _by_kind(ev, "bias")},
    D.RISK: lambda ev: {"hazards": _hazards(ev), "controls": ev.items_of("risk_control")},
    D.SOUP: lambda ev: {"direct": [c for c in ev.soup.get("components", []) if c["direct"]],
                        "components": ev.soup.get("components", []), "native": ev.soup.get("native", []),
                        "changes": ev.soup.get("changes"), "previous_release": ev.soup.get("previous_release")},
    D.ANOMALIES: lambda ev: {"anomalies": ev.anomalies},
    D.RELEASE_NOTES: lambda ev: {"commits": ev.commits, "residual": _residual(ev)},
    D.MODEL_CARD: lambda ev: {"card": ev.model_card},
}


def document_data(kind: D, ev: Evidence) -> dict[str, Any]:
    return {"release": ev.release, "project": ev.project, "verdict": ev.verdict, **_DATA[kind](ev)}


def attachments(kind: D, ev: Evidence, sbom: str | None = None) -> list[Attachment]:
    """The machine-readable twin of each document that has data a machine would read."""
    if kind is D.TRACE:
        return [_json("trace.json", ev.trace_rows, "full trace matrix"), _csv("trace.csv", ev.trace_rows, "full trace matrix")]
    if kind is D.TEST_REPORT:
        return [_json("test-results.json", ev.tests, "test results at the released commit")]
    if kind in (D.VALIDATION, D.BIAS):
        return [_json("validation.json", [{k: v for k, v in p.items() if k != "plots"} for p in ev.validation],
                      "validation and bias results")]
    if kind is D.SOUP:
        out = [_json("soup.json", ev.soup, "SOUP list"), _csv("soup.csv", ev.soup.get("components", []), "SOUP list")]
        if sbom is not None:
            out.append(Attachment("sbom.cdx.json", sbom.encode(), "CycloneDX 1.6 SBOM"))
        return out
    if kind is D.ANOMALIES:
        return [_json("anomalies.json", ev.anomalies, "anomaly register")]
    if kind is D.DHF_INDEX:
        return [_json("gate-verdict.json", ev.verdict, "release gate verdict")]
    return []
