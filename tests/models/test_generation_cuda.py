"""bf16 generation on a CUDA device. Where no GPU is, this test is skipped, so it carries no `verifies` marker: a
skipped test verifies nothing, and the requirement rests on the CPU tests of test_generation.py."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from qms.models.generation import generate
from qms.models.loaders import LoadedModel
from qms.models.precision import check_gap, precision_gap
from tests.models.test_generation import files, folder, model  # noqa: F401  (the same module-scoped fixtures)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device: GPU autocast is measured on a GPU only")
def test_cuda_generation_repeats_within_the_limit(model: LoadedModel, files: list[Path]) -> None:
    """On CUDA, bf16 generation repeats exactly for the same seed and stays within the card's bf16 limit."""
    a = generate(model, files, device="cuda", precision="bf16")
    assert a.texts == generate(model, files, device="cuda", precision="bf16").texts
    assert check_gap(model, "bf16", precision_gap(model, files, "bf16", device="cuda")) is None
