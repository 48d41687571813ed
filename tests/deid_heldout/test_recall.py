"""Recall floors of `qms deid dicom` and `verify` on the second held-out corpus (corpus.py), small size.

The floors are what the batch reached when this test was written (2026-12-06), a little below: a
change that lets more planted PHI through, or that lets verify call more of it clean, fails here.
The full figures come from `python benchmarks/eval_deid_heldout.py` (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deid_heldout.score import Outcome, recall, run

pytestmark = pytest.mark.verifies("QMS-RC-003")

SEED, FILES = 5150, 16
# Per category, the least share removed. Burned-in text (0.958 here since the deskew and one-value layers of
# 2026-12-06, 0.7 before): antialiased text blended faintly into the anatomy is still missed (HACKING.md).
FLOORS = {"pn_header": 1.0, "id_header": 1.0, "nested_seq": 1.0, "private_creator": 1.0, "private_orphan": 1.0,
          "overlay": 1.0, "icon": 1.0, "descriptor": 0.97, "code_meaning": 0.95, "graphic": 0.9, "sr_deep": 0.9,
          "burned_in": 0.9}
_TEXT = ("pn_header", "id_header", "nested_seq", "private_creator", "private_orphan", "descriptor", "code_meaning",
         "graphic", "sr_deep")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    outcomes, _ = run(tmp_path_factory.mktemp("heldout2"), SEED, FILES)
    return outcomes


def test_recall_per_category_is_at_its_floor(results: list[Outcome]) -> None:
    table = recall(results, "where")
    below = {where: round(removed / n, 3) for where, (n, removed, _) in table.items()
             if removed / n < FLOORS[where]}
    assert set(table) == set(FLOORS) and below == {}


def test_few_text_survivors_and_none_of_a_patient_name_in_another_script(results: list[Outcome]) -> None:
    """At most 3 text values survive in the whole corpus; the patient's own name never does."""
    text = [o for o in results if o.survived and o.planted.where in _TEXT]
    assert len(text) <= 3, [(o.planted.where, o.planted.kind, o.planted.path) for o in text]
    assert not [o for o in text if o.planted.where == "pn_header"]
