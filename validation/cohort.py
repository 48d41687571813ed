"""Data sources and the observed cohort: what the protocol says the data are, and what the test set holds.

The protocol's `data` section states the sources, the sites (id, geography, US or OUS),
the collection dates, the inclusion and exclusion criteria and the sampling (consecutive,
case-control or enriched) (VALIDATION.md, "data and reference standard"). The run sets
beside it what the manifests hold: the cohort of each partition (test and training), cases per site (the manifest's `site` attribute, when
there is one) and per region, the exclusions with their reasons, and the flow from the
cases assessed to the cases analysed, device failures counted as errors and never removed.
What the data contradict in the statement (a site not stated, a stated site without
cases, an exclusion reason that is not a stated criterion) is a deviation from protocol.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from qms.validation.manifest import DatasetManifest
from qms.validation.protocolreader import ProtocolReader

__all__ = ["DataSpec", "LISTED", "Region", "Sampling", "Site", "describe", "parse", "partition"]

LISTED = 50
"""Excluded cases listed by name in the result (all are counted, and all are in the manifest)."""


class Sampling(str, Enum):
    """How the cases were drawn: every eligible case in order, cases and controls drawn apart, or enriched."""

    CONSECUTIVE = "consecutive"
    CASE_CONTROL = "case-control"
    ENRICHED = "enriched"


class Region(str, Enum):
    US = "US"
    OUS = "OUS"


@dataclass(frozen=True)
class Site:
    id: str
    geography: str
    region: Region


@dataclass(frozen=True)
class DataSpec:
    sources: tuple[str, ...]
    sites: tuple[Site, ...]
    collection: tuple[str, str]
    """First and last collection date (ISO 8601)."""
    inclusion: tuple[str, ...]
    exclusion: tuple[str, ...]
    sampling: Sampling
    sampling_statement: str = ""
    site_attribute: str = "site"

    def to_json(self) -> dict[str, Any]:
        return {"sources": list(self.sources),
                "sites": [{"id": s.id, "geography": s.geography, "region": s.region.value} for s in self.sites],
                "collection": {"start": self.collection[0], "end": self.collection[1]},
                "inclusion": list(self.inclusion), "exclusion": list(self.exclusion),
                "sampling": {"method": self.sampling.value, "statement": self.sampling_statement},
                "site_attribute": self.site_attribute}


def _date(p: ProtocolReader, path: tuple[str, ...]) -> str:
    raw = p.get(path, object)
    if isinstance(raw, dt.date):
        raise p.fail(path, f"{'.'.join(path)} is an unquoted YAML date", hint=f"quote it: '{raw.isoformat()}'")
    try:
        return dt.date.fromisoformat(str(p.get(path, str))).isoformat()
    except ValueError:
        raise p.fail(path, f"{'.'.join(path)} = {raw!r} is not a date", hint="YYYY-MM-DD, quoted") from None


def parse(p: ProtocolReader) -> DataSpec | None:
    """The `data` section: every statement is required once the section is there (exclusion may be [])."""
    path = ("data",)
    if p.get(path, dict, required=False) is None:
        return None
    p.keys(path, {"sources", "sites", "collection", "inclusion", "exclusion", "sampling", "site_attribute", "notes"})
    sites: list[Site] = []
    for i, _ in enumerate(p.get((*path, "sites"), list)):
        s = (*path, "sites", i)
        p.keys(s, {"id", "geography", "region"})
        site = Site(str(p.get((*s, "id"), (str, int))), str(p.get((*s, "geography"), str)).strip(),
                    p.enum((*s, "region"), Region, "US, OUS"))
        if not site.geography:
            raise p.fail((*s, "geography"), "the site's geography is empty")
        if site.id in {x.id for x in sites}:
            raise p.fail((*s, "id"), f"site {site.id!r} appears twice")
        sites.append(site)
    if not sites:
        raise p.fail((*path, "sites"), "data.sites needs at least one site")
    p.keys((*path, "collection"), {"start", "end"})
    start, end = _date(p, (*path, "collection", "start")), _date(p, (*path, "collection", "end"))
    if start > end:
        raise p.fail((*path, "collection", "end"), f"collection ends ({end}) before it starts ({start})")
    p.keys((*path, "sampling"), {"method", "statement"})
    sampling = p.enum((*path, "sampling", "method"), Sampling, ", ".join(s.value for s in Sampling))
    statement = str(p.get((*path, "sampling", "statement"), str, required=False, default="")).strip()
    if sampling is not Sampling.CONSECUTIVE and not statement:
        raise p.fail((*path, "sampling"), f"{sampling.value} sampling needs its statement",
                     hint="how cases and controls were drawn, or how the set was enriched and to what prevalence")
    return DataSpec(p.texts((*path, "sources")), tuple(sites), (start, end), p.texts((*path, "inclusion")),
                    p.texts((*path, "exclusion"), empty=True), sampling, statement,
                    str(p.get((*path, "site_attribute"), str, required=False, default="site")))


def _sites(spec: DataSpec | None, manifest: DatasetManifest, labels: tuple[str, ...]) -> list[dict[str, Any]] | None:
    """Cases, patients and positives per site from the manifest's site attribute; None when it has none."""
    attribute = spec.site_attribute if spec else "site"
    if attribute not in manifest.attribute_names:
        return None
    stated = {s.id: s for s in spec.sites} if spec else {}
    by_site: dict[str, list[Any]] = {}
    for e in manifest.entries:
        value = e.attributes[attribute]
        by_site.setdefault("unknown" if value is None else str(value), []).append(e)
    out = []
    for site, entries in sorted(by_site.items()):
        known = stated.get(site)
        out.append({"site": site, "cases": len(entries), "patients": len({e.patient_id for e in entries}),
                    "positives": {label: sum(e.labels[label] == 1 for e in entries) for label in labels},
                    "geography": known.geography if known else None, "region": known.region.value if known else None})
    return out


def _regions(sites: list[dict[str, Any]]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for s in sites:
        counts[s["region"] or "not stated"] += s["cases"]
    return dict(sorted(counts.items()))


def _deviations(spec: DataSpec, sites: list[dict[str, Any]] | None, reasons: Mapping[str, int]) -> list[str]:
    out = []
    if sites is not None:
        seen = {s["site"] for s in sites}
        stated = {s.id for s in spec.sites}
        out += [f"data: site {s!r} has cases but is not a site the protocol states" for s in sorted(seen - stated)]
        out += [f"data: stated site {s!r} has no case in the test set" for s in sorted(stated - seen)]
    criteria = {c.casefold() for c in spec.exclusion}
    out += [f"data: {n} case(s) excluded for {r!r}, which is not an exclusion criterion of the protocol"
            for r, n in sorted(reasons.items()) if r.casefold() not in criteria]
    return out


def partition(manifest: DatasetManifest, role: str, labels: tuple[str, ...]) -> dict[str, Any]:
    """One row of the cohort table per partition: the manifest's cases, patients, studies, exclusions, prevalence."""
    n = len(manifest.entries)
    counts = {label: sum(e.labels[label] == 1 for e in manifest.entries) for label in labels if label in manifest.label_names}
    return {"role": role, "name": manifest.name, "split": manifest.split, "sha256": manifest.sha256, "cases": n,
            "patients": len(manifest.patient_ids), "studies": len(manifest.study_uids),
            "excluded": len(manifest.exclusions),
            "labels": {label: {"positives": k, "prevalence": k / n} for label, k in counts.items()}}


def describe(spec: DataSpec | None, manifest: DatasetManifest, labels: tuple[str, ...],
             failures: Mapping[int, str], training: tuple[DatasetManifest, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """The stated data, the partitions, the observed sites and exclusions, the flow diagram's counts; the deviations."""
    reasons = Counter(x.reason for x in manifest.exclusions)
    patients: dict[str, set[str]] = {}
    for x in manifest.exclusions:
        patients.setdefault(x.reason, set()).add(x.patient_id or f"unread:{x.file}")
    sites = _sites(spec, manifest, labels)
    included = len(manifest.entries)
    flow = {"assessed": included + len(manifest.exclusions), "excluded": len(manifest.exclusions),
            "excluded_by_reason": [{"reason": r, "cases": n, "patients": len(patients[r])}
                                   for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))],
            "included": included, "device_failures": len(failures), "analysed": included,
            "failures_counted_as": "errors (wrong calls), not exclusions"}
    out = {"statement": spec.to_json() if spec else None, "sites": sites,
           "partitions": [partition(manifest, "test", labels), *(partition(m, "training", labels) for m in training)],
           "regions": _regions(sites) if sites is not None else None, "flow": flow,
           "excluded_cases": [x.to_json() for x in manifest.exclusions[:LISTED]],
           "excluded_listed": min(LISTED, len(manifest.exclusions))}
    return out, _deviations(spec, sites, reasons) if spec else []
