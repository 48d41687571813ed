"""Gather one release's evidence from the capabilities: trace, test results, validation runs, model card, SOUP."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qms.documents.evidence import Evidence, git_log
from qms.errors import QmsError
from qms.gate.context import GateContext
from qms.gate.deliverables import required
from qms.gate.findings import Verdict
from qms.models import registry
from qms.store import Store
from qms.traceability import TraceReport
from qms.validation.records import ValidationRun, latest_lock

__all__ = ["gather"]


def _items(report: TraceReport) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Design items, trace rows and test results from the traceability report."""
    items, rows = [], []
    gaps: dict[str, list[str]] = {}
    for g in report.gaps:
        if g.item:
            gaps.setdefault(g.item, []).append(g.reason)
    for row in sorted(report.rows.values(), key=lambda r: r.item.id):
        it = row.item
        items.append({"id": it.id, "type": it.type.value, "title": it.title, "body": it.text, "parents": list(it.parents),
                      "safety_class": it.safety_class,
                      "risk_before": f"S{it.attributes.get('severity', '?')}/P{it.attributes.get('probability', '?')}",
                      "risk_after": f"S{it.attributes.get('residual_severity', '?')}/P{it.attributes.get('residual_probability', '?')}"})
        if it.type.value in ("requirement", "risk_control", "architecture"):
            rows.append({"item": it.id, "type": it.type.value, "title": it.title, "status": row.status.value,
                         "verified": row.status.ok,
                         "tests": [t.result.nodeid for t in row.tests], "reason": "; ".join(gaps.get(it.id, []))})
    tests = [{"nodeid": t.nodeid, "ids": list(t.verifies), "outcome": t.outcome.value, "docstring": t.docstring or "",
              "commit": t.commit, "run": t.run_id} for t in sorted(report.tests.values(), key=lambda t: t.nodeid)]
    return items, rows, tests


def _plots(run: ValidationRun, root: Path) -> list[dict[str, str]]:
    folder = root / run.out_dir  # an absolute out_dir stays as it is
    return [{"title": p.stem.replace("-", " "), "png_b64": base64.b64encode(p.read_bytes()).decode()}
            for p in sorted(folder.glob("*.png"))]


def _protocol(store: Store, pid: str, root: Path) -> dict[str, Any]:
    found = latest_lock(store, pid)
    if found is None:
        raise QmsError("the protocol is not locked", where=pid)
    lock, runs = found
    run = runs[-1] if runs else None
    if run is None:
        raise QmsError("the locked protocol has no run", where=pid)
    result = json.loads(run.result)
    content = json.loads(lock.content)
    sg = result.get("subgroups") or {}
    subgroups = [{"attribute": g["attribute"], "group": g["group"], "n": g["n"], "metric": m,
                  "estimate": v.get("estimate") or 0.0, "lower": v.get("lower") or 0.0, "upper": v.get("upper") or 0.0,
                  "flag": ", ".join(g.get("flags", []))} for g in sg.get("groups", []) for m, v in g["metrics"].items()]
    return {"id": lock.protocol_id, "version": lock.protocol_version, "title": lock.title,
            "kind": "bias" if sg else "performance", "sha256": lock.text_sha256, "locked_at": lock.created_at.isoformat(),
            "locked_by": lock.locked_by, "model": lock.model_ref, "model_sha256": lock.model_sha256,
            "dataset_sha256": lock.manifest_sha256, "run_id": run.id, "run_at": run.created_at.isoformat(),
            "passed": run.verdict == "pass",
            "endpoints": [{"name": f"{e['id']}: {e['metric']} ({', '.join(e['labels'])})"
                           + (f" at prevalence {e['prevalence']:g}" if e.get("prevalence") is not None else ""),
                           "estimate": e["estimate"] or 0.0,
                           "lower": e["lower"] or 0.0, "upper": e["upper"] or 0.0, "method": e["ci"]["method"],
                           "criterion": e["acceptance"] or "descriptive", "passed": e["verdict"] != "fail"}
                          for e in result.get("endpoints", [])],
            "subgroups": subgroups,
            "bias_criteria": [{"name": b["id"], "value": b["value"] or 0.0, "tolerance": f"<= {b['max']}",
                               "passed": b["verdict"] == "pass"} for b in result.get("bias", [])],
            "environment": {k: str(v) for k, v in json.loads(run.environment).items()}, "plots": _plots(run, root),
            "protocol": content, "result": result}


def _model_card(store: Store, ref: str) -> dict[str, Any]:
    view = registry.show(store, ref).to_json(full=True)
    return {"ref": view["ref"], "digest": view["digest"], "stage": view["stage"], **view["card"]}


def gather(ctx: GateContext, verdict: Verdict, previous_commit: str | None, previous_version: str | None) -> Evidence:
    """The evidence of the release `ctx.plan` names, judged by `verdict` (which must have passed)."""
    items, rows, tests = _items(ctx.trace)
    cfg = ctx.project.config
    refs = ctx.plan.references
    return Evidence(
        release={"version": ctx.plan.version, "commit": ctx.commit.sha, "model": ctx.plan.model,
                 "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "protocols": list(ctx.plan.protocols),
                 "anomaly_threshold": ctx.plan.anomaly_threshold, "previous": previous_version},
        project={"device": cfg.device, "intended_use": cfg.intended_use, "safety_class": cfg.safety_class.value,
                 "manufacturer": cfg.manufacturer, "design_dir": cfg.design_dir},
        verdict=verdict.to_json(), items=items, trace_rows=rows, tests=tests,
        validation=[_protocol(ctx.store, pid, ctx.project.root) for pid in ctx.plan.protocols],
        soup=ctx.soup_with_native.to_json(), anomalies=[a.to_json() for a in ctx.anomalies],
        commits=git_log(ctx.project.root, previous_commit), model_card=_model_card(ctx.store, ctx.plan.model_ref),
        deliverables=[{"number": d.number, "name": d.name, "clauses": d.clauses,
                       "source": ", ".join(k.heading for k in d.generated_by) or refs.get(d.number, "")}
                      for d in required(cfg.safety_class)],
    )
