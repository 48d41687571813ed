"""Data sources and the observed cohort: the protocol's `data` section, sites, exclusions, the flow, deviations."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.validation import cohort
from qms.validation.dataset import create_manifest
from qms.validation.protocolparser import read_protocol
from tests.validation.synthetic import assert_refused_at, PROTOCOL, DatasetMaker, write_protocol
from tests.validation.test_exclusions import add_exclusions

DATA = """\
data:
  sources: [synthetic PACS export of three hospitals]
  sites:
    - {id: site-0, geography: "Ohio, USA", region: US}
    - {id: site-1, geography: "Oregon, USA", region: US}
    - {id: site-2, geography: "Ontario, Canada", region: OUS}
    - {id: site-3, geography: "Leeds, UK", region: OUS}
  collection: {start: "2019-01-01", end: "2023-12-31"}
  inclusion: [adult frontal chest radiograph]
  exclusion: [lateral view only, support devices obscure the lungs]
  sampling:
    method: enriched
    statement: enriched to about 50 % pneumothorax
"""


def test_data_section_parses(tmp_path: Path) -> None:
    """The data section gives the sources, sites with region, collection dates, criteria and sampling."""
    p = read_protocol(write_protocol(tmp_path, PROTOCOL + DATA))
    assert p.data is not None and p.data.sampling is cohort.Sampling.ENRICHED
    assert [(s.id, s.region.value) for s in p.data.sites][2] == ("site-2", "OUS")
    assert p.data.collection == ("2019-01-01", "2023-12-31") and len(p.data.exclusion) == 2


BAD = [
    ("region: OUS}\n    - {id: site-3", "region: EU}\n    - {id: site-3", "region: EU", "unknown value 'EU'"),
    ('start: "2019-01-01"', "start: 2019-01-01", "start: 2019-01-01", "unquoted YAML date"),
    ('end: "2023-12-31"', 'end: "2018-12-31"', 'end: "2018-12-31"', "before it starts"),
    ('end: "2023-12-31"', 'end: "2023-13-31"', 'end: "2023-13-31"', "is not a date"),
    ("{id: site-3,", "{id: site-2,", "id: site-2, geography: \"Leeds", "appears twice"),
    ("method: enriched", "method: random", "method: random", "unknown value 'random'"),
    ("    statement: enriched to about 50 % pneumothorax\n", "", "  sampling:", "needs its statement"),
    ("inclusion: [adult frontal chest radiograph]", "inclusion: []", "inclusion: []", "at least one statement"),
    ("  sources:", "  countries: [US]\n  sources:", "countries:", "unknown key 'countries'"),
]


@pytest.mark.parametrize(("old", "new", "needle", "message"), BAD, ids=[b[3] for b in BAD])
def test_bad_data_section_names_the_line(tmp_path: Path, old: str, new: str, needle: str, message: str) -> None:
    """An unknown region or sampling, a bad or unquoted date, a repeated site, a missing statement is refused at its line."""
    assert old in DATA
    text = PROTOCOL + DATA.replace(old, new, 1)
    assert_refused_at(tmp_path, text, needle, message)


def test_observed_cohort_counts_sites_exclusions_and_the_flow(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """Sites, regions and the flow (assessed, excluded by reason, included, failures, analysed) come from the manifest."""
    deid, labels = dataset_maker(12)
    add_exclusions(labels, {1: "lateral view only", 5: "lateral view only", 6: "support devices obscure the lungs"})
    m = create_manifest(deid, labels, split="test", name="t")
    spec = read_protocol(write_protocol(tmp_path, PROTOCOL + DATA)).data
    out, deviations = cohort.describe(spec, m, ("pneumothorax",), {0: "unreadable"})
    assert out["flow"] == {"assessed": 12, "excluded": 3, "included": 9, "device_failures": 1, "analysed": 9,
                           "failures_counted_as": "errors (wrong calls), not exclusions",
                           "excluded_by_reason": [{"reason": "lateral view only", "cases": 2, "patients": 2},
                                                  {"reason": "support devices obscure the lungs", "cases": 1, "patients": 1}]}
    assert {s["site"]: s["cases"] for s in out["sites"]} == {"site-0": 3, "site-1": 1, "site-2": 2, "site-3": 3}
    assert out["regions"] == {"OUS": 5, "US": 4} and out["sites"][0]["geography"] == "Ohio, USA"
    assert [x["patient_id"] for x in out["excluded_cases"]] == ["P00001", "P00005", "P00006"]
    assert deviations == []


def test_what_the_data_contradict_is_a_deviation(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """A site not stated, a stated site without cases and an exclusion reason that is no criterion are deviations."""
    deid, labels = dataset_maker(8)
    add_exclusions(labels, {2: "motion blur"})
    m = create_manifest(deid, labels, split="test", name="t")
    text = PROTOCOL + DATA.replace("{id: site-3, geography: \"Leeds, UK\"", "{id: site-9, geography: \"Leeds, UK\"")
    _, deviations = cohort.describe(read_protocol(write_protocol(tmp_path, text)).data, m, ("pneumothorax",), {})
    assert deviations == ["data: site 'site-3' has cases but is not a site the protocol states",
                          "data: stated site 'site-9' has no case in the test set",
                          "data: 1 case(s) excluded for 'motion blur', which is not an exclusion criterion of the protocol"]
