"""A multi-sequence study becomes the (C, D, H, W) tensor its card states, whatever the file order or orientation."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.models.card import ModelCard, StudySpec
from qms.models.errors import InputError, ModelError
from qms.models.inference import predict
from qms.models.loaders import load_folder
from qms.models.precision import check_gap, precision_gap
from qms.models.study import resample_axis, read_index, study_tensor, write_index
from tests.models.helpers import write_card
from tests.models.kinds import SEQUENCES, STUDY_LABELS, study, study_card, study_model

pytestmark = pytest.mark.verifies("QMS-REQ-217")

CARD = ModelCard.model_validate(study_card())
SPEC = CARD.study
assert SPEC is not None


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return study(tmp_path_factory.mktemp("study"))


def _channel_means(tensor: torch.Tensor) -> list[list[float]]:
    """Per channel, the mean of each non-padded slice: the slice order the tensor holds."""
    return [[float(tensor[c, d].mean()) for d in range(tensor.shape[1])] for c in range(tensor.shape[0])]


def test_study_tensor_has_the_card_shape_and_slices_follow_the_normal(index: Path) -> None:
    """Each channel is its sequence in card order, resampled to the card grid, slices rising along the normal."""
    tensor = study_tensor(index, SPEC, CARD.input)
    assert tensor.shape == (3, *SPEC.shape) and tensor.dtype == torch.float32
    for channel in tensor:
        inner = channel[1:-1, 4, 4]  # slice values rise 10 per slice along the normal
        assert torch.all(inner[1:] >= inner[:-1]) and inner[-1] > inner[0]
        assert abs(float(channel.mean())) < 1e-4  # z-scored


@pytest.mark.parametrize("shuffle", [1, 2])
def test_shuffled_file_names_give_the_same_tensor(tmp_path: Path, index: Path, shuffle: int) -> None:
    """Files named, numbered and listed in a random order give exactly the sorted study's tensor."""
    shuffled = study(tmp_path, shuffle=shuffle)
    assert torch.equal(study_tensor(shuffled, SPEC, CARD.input), study_tensor(index, SPEC, CARD.input))


def test_oblique_and_axial_studies_read_alike(tmp_path: Path, index: Path) -> None:
    """An axial acquisition of the same slices gives the oblique one's tensor: order is along each series' normal."""
    axial = study(tmp_path / "axial", orientation=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    assert torch.allclose(study_tensor(axial, SPEC, CARD.input), study_tensor(index, SPEC, CARD.input))


def test_channel_order_is_the_cards(index: Path) -> None:
    """Reordering the card's sequences reorders the channels: the card, not the index, decides."""
    swapped = StudySpec(sequences=("FLAIR", "T1", "T2"), shape=SPEC.shape, spacing=SPEC.spacing)
    a, b = study_tensor(index, SPEC, CARD.input), study_tensor(index, swapped, CARD.input)
    assert torch.equal(b[0], a[2]) and torch.equal(b[1], a[0])


def test_a_changed_or_missing_series_is_refused(tmp_path: Path) -> None:
    """A slice whose bytes differ from the index, or a sequence the card needs and the study lacks, is named."""
    index = study(tmp_path / "s")
    victim = sorted((tmp_path / "s" / "T2").glob("*.dcm"))[2]
    victim.write_bytes(victim.read_bytes()[:-2] + b"\x00\x01")
    with pytest.raises(InputError, match="differs from the study index") as err:
        read_index(index, SEQUENCES)
    assert str(victim) in err.value.diagnostics()
    shutil.rmtree(tmp_path / "s" / "FLAIR")
    with pytest.raises(InputError, match="no FLAIR series"):
        read_index(write_index(tmp_path / "s", ["T1", "T2"]), SEQUENCES)


def test_study_model_scores_many_labels_per_study(tmp_path: Path, index: Path) -> None:
    """A study model loads with a 3-D probe and gives one probability per label per study; bad studies are failures."""
    folder = study_model(tmp_path / "model")
    model = load_folder(folder, ref="brain@1", digest="0" * 64)
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    result = predict(model, [index, bad, index], batch_size=2)
    assert result.labels == STUDY_LABELS and result.probabilities.shape == (3, len(STUDY_LABELS))
    assert np.array_equal(result.probabilities[0], result.probabilities[2]) and 1 in result.failures
    assert np.all((result.probabilities[0] > 0) & (result.probabilities[0] < 1))


def test_a_study_card_must_fit_its_model(tmp_path: Path) -> None:
    """A card whose channels differ from its sequences, or a grid the network cannot take, is refused at load."""
    with pytest.raises(ValueError, match="number of study.sequences"):
        ModelCard.model_validate(study_card(input={"modalities": ["MR"], "image_size": 8, "channels": 2,
                                                   "mean": [0, 0], "std": [1, 1]}))
    folder = study_model(tmp_path / "model")
    write_card(folder, study_card(architecture={"format": "torch", "weights": "model.safetensors",
                                                "torch_class": "qms.models.nets:SmallCnn3d",
                                                "init_args": {"channels": 3, "labels": 2, "width": 4}}))
    with pytest.raises(ModelError):
        load_folder(folder, ref="brain@1", digest="0" * 64)


@pytest.mark.verifies("QMS-REQ-219")
def test_bf16_study_inference_is_within_the_stated_limit(tmp_path: Path, index: Path) -> None:
    """CPU bf16 autocast moves study probabilities from fp32 by less than the card's bf16 limit; fp32 repeats exactly."""
    model = load_folder(study_model(tmp_path / "model"), ref="brain@1", digest="0" * 64)
    gap = precision_gap(model, [index, index], "bf16", device="cpu")
    assert 0 < gap <= CARD.precision_limits[next(p for p in CARD.precision_limits if p.value == "bf16")]
    assert check_gap(model, "bf16", gap) is None
    assert precision_gap(model, [index], "fp32", device="cpu") == 0.0
    assert check_gap(model, "bf16", 0.5) is not None


@settings(max_examples=25, deadline=None)
@given(shape=st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 9)),
       size=st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(1, 12)), seed=st.integers(0, 2**16))
def test_resampling_is_torch_trilinear(shape: tuple[int, int, int], size: tuple[int, int, int], seed: int) -> None:
    """The separable resampler gives torch's trilinear interpolation (half-pixel centres) for any grid sizes."""
    voxels = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    ours = voxels
    for axis, n in enumerate(size):
        ours = resample_axis(ours, axis, n)
    theirs = F.interpolate(torch.from_numpy(voxels)[None, None], size=size, mode="trilinear", align_corners=False)
    assert np.allclose(ours, theirs[0, 0].numpy(), atol=1e-5)
