"""Limitations, the proposed labeling limitations, and the conclusion, derived from what the run recorded.

Each limitation is a finding of the data or the analysis and the labeling statement it
proposes (VALIDATION.md, "limitations -> proposed labeling limitations; conclusion"):
the manufacturers, models, modalities, views, pixel spacings, ages and sexes the test set
covers ("not validated on other manufacturers' equipment"), the sites' regions, the
sampling, flagged subgroups (as `qms.validation.interpretation` words them), robustness
strata below the minimum or short of a criterion, failed criteria, device failures and a
test set short of its sample-size justification; then the limitations the protocol states. The conclusion is one sentence from the
verdict, the cohort and the deviations.
"""

from __future__ import annotations

from typing import Any

from qms.validation.protocol import Protocol
from qms.validation.protocolreader import ProtocolReader

__all__ = ["conclusion", "derive", "parse"]

_COVERAGE = (("Manufacturer", "manufacturers", "equipment of other manufacturers"),
             ("ManufacturerModelName", "equipment models", "other equipment models"),
             ("Modality", "modalities", "other modalities"),
             ("ViewPosition", "views", "other views or patient positions"))
_RANGES = (("PatientAge", "patients aged", "years", "patients outside this age range"),
           ("PixelSpacing", "pixel spacing", "mm", "images with other pixel spacing"),
           ("ImagerPixelSpacing", "imager pixel spacing", "mm", "images with other imager pixel spacing"))


def parse(p: ProtocolReader) -> tuple[str, ...]:
    """The protocol's `limitations`: statements known before the run, each carried into the labeling."""
    stated: tuple[str, ...] = p.texts(("limitations",), required=False, empty=True)
    return stated


def _item(source: str, finding: str, labeling: str) -> dict[str, str]:
    return {"source": source, "finding": finding, "labeling": labeling}


def _coverage(acq: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    tables = {a["attribute"]: a["values"] for a in acq.get("attributes", [])}
    for name, plural, other in _COVERAGE:
        values = [v["value"] for v in tables.get(name, []) if v["value"] != "unknown"]
        if values:
            out.append(_item("data", f"The test set holds {plural} {', '.join(values)} only.",
                             f"Not validated on {other}."))
    for name, what, unit, other in _RANGES:
        r = acq.get("ranges", {}).get(name)
        if r:
            span = f"{r['min']:g}" if r["min"] == r["max"] else f"{r['min']:g}-{r['max']:g}"
            out.append(_item("data", f"The test set covers {what} {span} {unit}"
                             + (f" ({r['unknown']} cases unknown)." if r["unknown"] else "."),
                             f"Not validated on {other}."))
    return out


def _data(data: dict[str, Any], result: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    regions = data.get("regions") or {}
    if regions:
        seen = ", ".join(f"{n} cases {r}" for r, n in regions.items())
        missing = [r for r in ("US", "OUS") if r not in regions]
        out.append(_item("data", f"Cases come from {len(data.get('sites') or [])} site(s): {seen}.",
                         "Not validated on " + ("sites outside the US." if missing == ["OUS"] else
                                                "US sites." if missing == ["US"] else "sites other than those studied.")))
    statement = data.get("statement") or {}
    sampling = (statement.get("sampling") or {}).get("method")
    if sampling in ("case-control", "enriched"):
        prevalence = ", ".join(f"{label} {v['prevalence']:.1%}" for label, v in result["cohort"]["labels"].items())
        out.append(_item("data", f"The test set's sampling is {sampling} (prevalence {prevalence}).",
                         "Predictive values at the test set's prevalence do not carry over to clinical prevalence."))
    return out


def _analysis(result: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for g in (result.get("interpretation") or {}).get("groups", []):  # the bias interpretation's own limitations
        out.append(_item("analysis", f"Subgroup {g['attribute']} = {g['group']}: {'; '.join(g['reasons'])}.",
                         g["labeling_limitation"]))
    for s in (result.get("robustness") or {}).get("strata", []):
        if not s["sufficient"]:
            out.append(_item("analysis", f"Acquisition stratum {s['attribute']} = {s['value']} has {s['cases']} cases, "
                             "below the robustness minimum.", f"Performance on {s['attribute']} {s['value']} is not established."))
        for eid, e in s["endpoints"].items():
            if e["meets"] is False:
                bounds = "undefined" if e["lower"] is None or e["upper"] is None else f"[{e['lower']:.3f}, {e['upper']:.3f}]"
                out.append(_item("analysis", f"In {s['attribute']} = {s['value']} ({s['cases']} cases), {eid} "
                                 f"({e['metric']}) {bounds} does not meet {e['acceptance']}.",
                                 f"{e['metric'].capitalize()} on {s['attribute']} {s['value']} is not shown to meet "
                                 "the performance goal."))
    failed = result["cohort"].get("failed_cases", 0)
    if failed:
        out.append(_item("analysis", f"The device failed on {failed} of {result['cohort']['cases']} cases "
                         "(counted as errors).", "Some images cannot be processed and get no triage output."))
    ss = result.get("sample_size")
    if ss and not ss["adequate"]:
        out.append(_item("analysis", f"The test set is smaller than the sample-size justification of {ss['endpoint']} needs "
                         f"(power {ss['achieved_power']:.2f} against {ss['power']:g}).",
                         "The performance estimates are less precise than planned."))
    out += [_item("criterion", reason, "The device does not meet this pre-specified criterion.")
            for reason in result["reasons"]]
    return out


def derive(protocol: Protocol, result: dict[str, Any]) -> list[dict[str, str]]:
    """Every limitation with its proposed labeling statement: data coverage, analysis, failed criteria, protocol."""
    return [*_coverage(result.get("acquisition") or {}), *_data(result.get("data") or {}, result), *_analysis(result),
            *(_item("protocol", "Stated in the locked protocol.", text) for text in protocol.limitations)]


def conclusion(protocol: Protocol, result: dict[str, Any]) -> str:
    """One sentence: the verdict on the pre-specified criteria, on what cohort, with or without deviations."""
    c = result["cohort"]
    sites = len((result.get("data") or {}).get("sites") or [])
    cohort = f"{c['cases']} images of {c['patients']} patients" + (f" from {sites} sites" if sites else "")
    deviations = result.get("deviations") or []
    dev = "with no deviation from the protocol" if not deviations else f"with {len(deviations)} deviation(s) from the protocol (listed)"
    if result["verdict"] == "pass":
        return (f"{protocol.key}: {protocol.model_ref} met every pre-specified acceptance criterion on {cohort}, {dev}; "
                "the results support the intended use within the labeling limitations stated.")
    return (f"{protocol.key}: {protocol.model_ref} did not meet {len(result['reasons'])} pre-specified criterion/criteria "
            f"on {cohort}, {dev}; the results do not support the intended use, and the version cannot be released.")
