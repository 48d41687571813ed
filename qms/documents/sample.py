"""A small synthetic release's evidence: for rendering tests, benchmarks and template previews.

Every value is made up (no patient data); sizes are parameters so a benchmark can scale it.
"""

from __future__ import annotations

import base64
from typing import Any

from qms.documents.evidence import Commit, Evidence

__all__ = ["sample_evidence"]

# A 1x1 white PNG: a plot placeholder with real PNG bytes.
_PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8ffff3f0005fe02fea7d6a4bf0000000049454e44ae426082")).decode()


def _item(ident: str, kind: str, title: str, parents: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": ident, "type": kind, "title": title, "body": f"Synthetic text of {ident}.", "parents": parents,
            "safety_class": "B" if kind in ("requirement", "architecture") else None, **extra}


def sample_evidence(requirements: int = 6, *, failing: tuple[str, ...] = ()) -> Evidence:
    """Evidence of release 1.0.0 of a synthetic device; ids in `failing` have a failing test."""
    reqs = [f"REQ-{n:03d}" for n in range(1, requirements + 1)]
    items = [_item("UN-001", "need", "Triage flags suspected pneumothorax", []),
             _item("HAZ-001", "hazard", "Missed pneumothorax delays reading", [], risk_before="serious/occasional",
                   risk_after="serious/remote"),
             _item("RC-001", "risk_control", "Sensitivity lower bound at least 0.80", ["HAZ-001"]),
             *[_item(r, "requirement", f"Requirement {r}", ["UN-001"] + (["RC-001"] if i == 0 else []))
               for i, r in enumerate(reqs)],
             _item("ARCH-001", "architecture", "Inference service", reqs[:2])]
    tests: list[dict[str, Any]] = [{"nodeid": f"tests/test_device.py::test_{r.lower().replace('-', '_')}", "ids": [r],
              "outcome": "failed" if r in failing else "passed", "duration": 0.01,
              "docstring": f"The device meets {r}."} for r in [*reqs, "RC-001"]]
    rows = [{"item": t["ids"][0], "type": "requirement" if t["ids"][0].startswith("REQ") else "risk_control",
             "tests": [t["nodeid"]], "status": "verified" if t["outcome"] == "passed" else "failed",
             "verified": t["outcome"] == "passed"} for t in tests]
    endpoint = {"name": "AUROC (pneumothorax)", "estimate": 0.93, "lower": 0.90, "upper": 0.95, "method": "DeLong",
                "criterion": "lower bound >= 0.85", "passed": True}
    protocol = {"id": "VAL-PERF-001", "version": "1", "title": "Standalone performance", "kind": "performance",
                "sha256": "a" * 64, "locked_at": "2026-11-30T10:00:00Z", "locked_by": "demo.approver",
                "model": "cxr-triage-vit@1.0.0", "model_sha256": "b" * 64, "dataset_sha256": "c" * 64,
                "run_id": "run-1", "run_at": "2026-11-30T11:00:00Z", "passed": True, "endpoints": [endpoint],
                "environment": {"device": "cpu", "torch": "2.13.0"}, "plots": [{"title": "ROC curve", "png_b64": _PNG}],
                "subgroups": [], "bias_criteria": []}
    bias = {**protocol, "id": "VAL-BIAS-001", "title": "Subgroup bias", "kind": "bias", "endpoints": [],
            "subgroups": [{"attribute": "sex", "group": g, "n": 120, "metric": "sensitivity", "estimate": 0.9,
                           "lower": 0.82, "upper": 0.95, "flag": ""} for g in ("F", "M")],
            "bias_criteria": [{"name": "largest sensitivity gap", "value": 0.02, "tolerance": "<= 0.10", "passed": True}]}
    return Evidence(
        release={"version": "1.0.0", "commit": "d" * 40, "model": "cxr-triage-vit@1.0.0", "date": "2026-12-01",
                 "protocols": ["VAL-PERF-001", "VAL-BIAS-001"], "anomaly_threshold": "minor", "previous": None},
        project={"device": "Synthetic Triage", "intended_use": "Synthetic intended use.", "safety_class": "B",
                 "manufacturer": "Example Ltd", "design_dir": "design"},
        verdict={"verdict": "pass", "findings": [], "checks": []},
        items=items, trace_rows=rows, tests=tests, validation=[protocol, bias],
        soup={"components": [{"name": "pydicom", "version": "3.0.2", "licence": "MIT", "supplier": "pydicom", "origin": "index",
                              "direct": True, "purpose": "DICOM I/O", "requirements": "REQ-001", "anomaly_review": "ok",
                              "level_of_support": "community", "end_of_support": "none announced",
                              "known_vulnerabilities": "none known", "reviewed_version": "3.0.2", "purl": "pkg:pypi/pydicom@3.0.2"}],
              "native": [{"package": "libpango-1.0-0", "version": "1.50", "maintainer": "Debian", "libraries": ["/usr/lib/libpango-1.0.so.0"],
                          "purl": "pkg:deb/debian/libpango-1.0-0@1.50"}], "changes": None, "previous_release": None},
        anomalies=[{"id": "ANOM-001", "title": "Cosmetic progress bar overrun", "severity": "minor", "status": "open",
                    "evaluation": "No effect on output."}],
        commits=[Commit("e" * 40, "Demo Engineer", "2026-11-30T09:00:00+00:00", "Initial design")],
        model_card={"name": "cxr-triage-vit", "version": "1.0.0", "intended_use": "Synthetic.", "labels": ["pneumothorax"]},
        deliverables=[{"number": "2", "name": "Software development plan", "clauses": "5.1", "source": "SDP-1.0.0"}],
    )
