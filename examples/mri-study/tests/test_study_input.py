"""Study input: series ordered along the normal in the card's channel order; incomplete or changed studies refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from generate import SEQUENCES, make_study
from qms.models.card import ModelCard
from qms.models.errors import InputError
from qms.models.study import study_tensor, write_index

CARD = ModelCard.model_validate(yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "model" / "model_card.template.yaml").read_text(encoding="utf-8")))
assert CARD.study is not None


@pytest.fixture
def study(tmp_path: Path) -> Path:
    make_study(tmp_path, 0, np.random.default_rng(1), slices=8, matrix=24)
    return write_index(tmp_path / "study-0000", SEQUENCES)


@pytest.mark.verifies("REQ-001", "RC-001")
def test_channels_follow_the_card_and_slices_the_normal(study: Path) -> None:
    """The tensor has the card's shape with T1, T2, FLAIR as channels 0-2, the same whatever the file names."""
    tensor = study_tensor(study, CARD.study, CARD.input)
    assert tuple(tensor.shape) == (3, *CARD.study.shape)
    for folder in (study.parent / s for s in SEQUENCES):  # rename every file: order must not change
        for path in sorted(folder.glob("*.dcm")):
            path.rename(path.with_name("x" + path.name[::-1]))
    assert np.array_equal(study_tensor(write_index(study.parent, SEQUENCES), CARD.study, CARD.input).numpy(),
                          tensor.numpy())


@pytest.mark.verifies("REQ-002", "RC-002")
def test_a_missing_sequence_or_changed_slice_is_refused(study: Path) -> None:
    """A study without FLAIR, or with a changed slice, is refused naming the sequence or the file."""
    slice_file = sorted((study.parent / "T2").glob("*.dcm"))[0]
    slice_file.write_bytes(slice_file.read_bytes() + b"\x00")
    with pytest.raises(InputError, match="differs from the study index"):
        study_tensor(study, CARD.study, CARD.input)
    shutil.rmtree(study.parent / "FLAIR")
    with pytest.raises(InputError, match="no FLAIR series"):
        study_tensor(write_index(study.parent, ("T1", "T2")), CARD.study, CARD.input)
