"""The reference standard's statement and its inter-reader agreement (VALIDATION.md, data and reference standard)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from qms.errors import QmsError
from qms.store import Store, open_store
from qms.validation.dataset import create_manifest
from qms.validation.datasetstream import create_file_table
from qms.validation.manifest import DatasetManifest
from qms.validation.protocolparser import read_protocol
from qms.validation.readers import agreement, cohen_kappa, fleiss_kappa
from tests.validation.runs import lock_and_run
from tests.validation.synthetic import PROTOCOL, make_dataset, make_project

REFERENCE = """\
reference_standard:
  definition: pneumothorax on the radiograph, by consensus
  readers:
    count: 2
    qualifications: board-certified radiologists
  blinding: blinded to the device output
  adjudication: a third reader decides disagreements
  annotation_tool: structured form
  version: RS-1
"""

# Fleiss (1971) as worked in Wikipedia's "Fleiss' kappa": 10 subjects, 14 raters, 5 categories, kappa = 0.210.
FLEISS_EXAMPLE = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                  [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Store:
    return open_store(sqlite_url)


def _add_reads(labels: Path, readers: tuple[str, ...], misread: float, seed: int = 1) -> None:
    """Append `pneumothorax@<reader>` columns: the reference label, misread at the given rate."""
    rows = list(csv.DictReader(labels.open()))
    rng = np.random.default_rng(seed)
    for row in rows:
        for r in readers:
            row[f"pneumothorax@{r}"] = str(int(row["pneumothorax"]) ^ int(rng.random() < misread))
    with labels.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_fleiss_kappa_reproduces_the_worked_example() -> None:
    """Fleiss' kappa of the 10-subject, 14-rater example is 0.210."""
    assert fleiss_kappa(np.array(FLEISS_EXAMPLE)) == pytest.approx(0.210, abs=0.001)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=2, max_size=60))
def test_cohen_kappa_matches_scikit_learn(pairs: list[tuple[int, int]]) -> None:
    """Cohen's kappa equals scikit-learn's on any two binary reads (NaN where it is undefined)."""
    a, b = np.array(pairs).T
    ours = cohen_kappa(a, b)
    if ours != ours:
        assert len(set(a) | set(b)) == 1
    else:
        assert ours == pytest.approx(float(cohen_kappa_score(a, b)), abs=1e-9)


def test_reader_columns_go_to_the_manifest_not_to_labels_or_attributes(tmp_path: Path) -> None:
    """`<label>@<reader>` columns become per-reader reads; agreement uses Cohen for two readers, Fleiss for three."""
    deid, labels = make_dataset(tmp_path, 30)
    _add_reads(labels, ("R1", "R2", "R3"), 0.1)
    m = create_manifest(deid, labels, split="test", name="t")
    assert m.label_names == ("pneumothorax", "effusion") and not any("@" in a for a in m.attribute_names)
    assert set(m.entries[0].readers["pneumothorax"]) == {"R1", "R2", "R3"}
    assert DatasetManifest.from_json(m.to_json(), "m").sha256 == m.sha256
    three = agreement(m, "pneumothorax")
    assert three is not None and three["statistic"] == "fleiss_kappa" and three["cases"] == 30 and 0.3 < three["kappa"] < 1
    assert agreement(m, "effusion") is None


def test_a_reader_column_naming_no_label_is_refused(tmp_path: Path) -> None:
    """A reader column whose label is not a label column is refused at the table's header line."""
    deid, labels = make_dataset(tmp_path, 6)
    text = labels.read_text().splitlines()
    labels.write_text("\n".join([text[0] + ",nodule@R1"] + [t + ",1" for t in text[1:]]) + "\n")
    with pytest.raises(QmsError) as info:
        create_manifest(deid, labels, split="test", name="t")
    assert "nodule@R1" in info.value.message and info.value.where == f"{labels}:1"


def test_choosing_one_label_leaves_out_the_reader_columns_of_the_others(tmp_path: Path) -> None:
    """With one label chosen, the other labels' reader columns are neither refused, read nor attributes."""
    deid, labels = make_dataset(tmp_path, 12)
    _add_reads(labels, ("R1", "R2"), 0.1)
    text = labels.read_text().splitlines()
    labels.write_text("\n".join([text[0] + ",effusion@R1,effusion@R2"] + [t + ",0,1" for t in text[1:]]) + "\n")
    m = create_manifest(deid, labels, split="test", name="t", label_columns=["pneumothorax"])
    table = create_file_table(deid, labels, tmp_path / "m.parquet", split="test", name="t",
                              label_columns=["pneumothorax"])
    assert table.sha256 == m.sha256 and table.to_manifest() == m
    assert m.label_names == ("pneumothorax",) and not any("@" in a for a in m.attribute_names)
    assert "effusion" in m.attribute_names and set(m.entries[0].readers) == {"pneumothorax"}
    both = create_manifest(deid, labels, split="test", name="t")
    assert set(both.entries[0].readers) == {"pneumothorax", "effusion"}


def test_agreement_is_reported_and_a_pre_set_minimum_decides(sqlite_store: Store, tmp_path: Path) -> None:
    """The run reports each label's kappa with the stated reference standard; kappa below `agreement.min` fails it."""
    protocol = PROTOCOL + REFERENCE + "  agreement: {min: 0.95}\n"
    path = make_project(tmp_path, 60, protocol=protocol)
    _add_reads(tmp_path / "data/labels.csv", ("R1", "R2"), 0.15)
    for split in ("train", "test"):
        m = create_manifest(tmp_path / "data/deid", tmp_path / "data/labels.csv", split=split, name=f"toy-{split}")
        (tmp_path / "data/manifests" / f"{split}.json").write_text(m.dumps())
    result = lock_and_run(sqlite_store, path, tmp_path)
    rs = result["reference_standard"]
    assert rs["statement"]["readers"] == {"count": 2, "qualifications": "board-certified radiologists"}
    a = rs["agreement"]["pneumothorax"]
    assert a["statistic"] == "cohen_kappa" and a["cases"] == 30 and a["kappa"] < 0.95 and rs["agreement"]["effusion"] is None
    assert result["verdict"] == "fail" and any("below 0.95" in r for r in result["reasons"])


def test_a_required_agreement_without_reads_fails_closed(sqlite_store: Store, tmp_path: Path) -> None:
    """With `agreement.min` and no per-reader reads, agreement cannot be shown, and the run fails."""
    path = make_project(tmp_path, 40, protocol=PROTOCOL + REFERENCE + "  agreement: {min: 0.6}\n")
    result = lock_and_run(sqlite_store, path, tmp_path)
    assert result["verdict"] == "fail" and any("no per-reader reads of 'pneumothorax'" in r for r in result["reasons"])


@pytest.mark.parametrize(("drop", "message"), [
    ("  blinding: blinded to the device output\n", "missing required key reference_standard.blinding"),
    ("    qualifications: board-certified radiologists\n", "missing required key reference_standard.readers.qualifications"),
    ("  version: RS-1\n", "missing required key reference_standard.version"),
])
def test_a_reference_standard_missing_a_statement_names_the_line(tmp_path: Path, drop: str, message: str) -> None:
    """Every statement of the reference standard is required; a missing one is named with the section's line."""
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL + REFERENCE.replace(drop, ""))
    with pytest.raises(QmsError) as info:
        read_protocol(path)
    assert message in info.value.message and info.value.where and info.value.where.startswith(f"{path}:")
    line = int(info.value.where.rsplit(":", 1)[1])
    assert line in (len(PROTOCOL.splitlines()) + 1, len(PROTOCOL.splitlines()) + 3)
