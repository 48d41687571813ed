"""Protocol parsing: a valid protocol parses; each kind of bad input names its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.errors import QmsError
from qms.validation.intervals import CIMethod
from qms.validation.metrics import Metric
from qms.validation.protocol import Multiplicity, Protocol
from qms.validation.protocolparser import read_protocol
from tests.validation.synthetic import assert_refused_at, PROTOCOL, write_protocol

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage" / "protocols"




def test_protocol_parses_endpoints_subgroups_bias_and_multiplicity(tmp_path: Path) -> None:
    """A complete protocol parses into endpoints with their CI methods, subgroups, bias criteria and multiplicity."""
    p = read_protocol(write_protocol(tmp_path, PROTOCOL))
    assert p.key == "VAL-T@1.0" and p.model_ref == "toy@1.0.0"
    assert [e.metric for e in p.endpoints] == [Metric.AUROC, Metric.SENSITIVITY, Metric.MEAN_AUROC]
    assert p.endpoints[0].ci.method is CIMethod.DELONG
    assert p.endpoints[1].ci.method is CIMethod.BOOTSTRAP_PERCENTILE and p.endpoints[1].ci.resamples == 200
    assert p.endpoints[2].labels == ("pneumothorax", "effusion")
    assert p.subgroups is not None and p.subgroups.attributes[1].bins == (18.0, 50.0)
    assert p.multiplicity is Multiplicity.BONFERRONI and len(p.bias) == 2


@pytest.mark.parametrize("name", ["VAL-PERF-001.yaml", "VAL-BIAS-001.yaml"])
def test_example_protocols_are_valid(name: str) -> None:
    """The example project's performance and bias protocols parse."""
    assert read_protocol(EXAMPLES / name).id == name.removesuffix(".yaml")


BAD = [
    ("metric: auroc\n    label: pneumothorax\n    role: primary\n    ci: {method: delong}",
     "metric: roc_auc\n    label: pneumothorax\n    role: primary\n    ci: {method: delong}", "metric: roc_auc",
     "unknown value 'roc_auc'"),
    ("threshold: 0.5\n    role: primary", "threshold: 1.5\n    role: primary", "threshold: 1.5", "out of range"),
    ("ci: {method: delong}", "ci: {method: wilson}", "ci: {method: wilson}", "wilson is not an interval for auroc"),
    ("acceptance: lower >= 0.6", "acceptance: lower is high", "acceptance: lower is high", "is not understood"),
    ("  min_size: 10", "  min_size: 10\n  colour: blue", "colour: blue", "unknown key 'colour'"),
    ("    attribute: PatientSex\n    max: 0.5", "    attribute: Race\n    max: 0.5", "attribute: Race",
     "is not a subgroup attribute"),
    ("  method: bonferroni", "  method: holm", "method: holm", "unknown value 'holm'"),
    ("    label: pneumothorax\n    threshold: 0.5\n    role", "    label: asthma\n    threshold: 0.5\n    role",
     "label: asthma", "not one of the protocol's labels"),
]


@pytest.mark.parametrize(("old", "new", "needle", "message"), BAD, ids=[b[3] for b in BAD])
def test_bad_protocol_names_the_line(tmp_path: Path, old: str, new: str, needle: str, message: str) -> None:
    """An unknown metric, out-of-range threshold, wrong CI method or unknown key is refused at its line."""
    assert old in PROTOCOL
    text = PROTOCOL.replace(old, new, 1)
    assert_refused_at(tmp_path, text, needle, message)


def test_missing_multiplicity_is_refused(tmp_path: Path) -> None:
    """A protocol without a multiplicity statement is refused."""
    text = PROTOCOL[: PROTOCOL.index("multiplicity:")]
    with pytest.raises(QmsError, match="missing required key multiplicity"):
        read_protocol(write_protocol(tmp_path, text))


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    """YAML that does not parse is refused with the line of the problem."""
    path = write_protocol(tmp_path, "id: x\nversion: [1\n")
    with pytest.raises(QmsError, match="not valid YAML") as info:
        read_protocol(path)
    assert info.value.where is not None and info.value.where.startswith(f"{path}:")


def test_primary_endpoint_needs_acceptance(tmp_path: Path) -> None:
    """A primary endpoint without an acceptance criterion is refused (no pass without a pre-set goal)."""
    text = PROTOCOL.replace("    acceptance: lower >= 0.6\n", "", 1)
    with pytest.raises(QmsError, match="needs an acceptance criterion"):
        read_protocol(write_protocol(tmp_path, text))
