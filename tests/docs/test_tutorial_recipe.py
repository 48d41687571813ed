"""The tutorial's training recipe learns whatever key the reader's de-identification drew.

`qms deid keygen` draws a new key for every reader, so the patients' pseudonyms, and with them
the patients the training holds out for tuning (sorted pseudonyms, seeded permutation), differ
from one reader to the next. A recipe at the edge of stability (4 epochs at 0.003) left the
network at a constant output for about one key in thirty (2 of 61 drawn here): the reader's protocol then failed and
the tutorial (and CI's run of it) with it. Here the recipe the tutorial prints is trained on the
example's images for many drawn pseudonym sets, each must reach a test AUROC well above the
protocol's acceptance bound. (The plain-torch CNN the tutorial now trains reached 0.62 for one key
in 60 with global average pooling, and 0.89 at worst with max pooling, the recipe it prints.)
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
import torch

from qms.models import training
from qms.models.card import ModelCard
from qms.roc import roc_auc
from tests.docs.tutorial import TUTORIAL

ROOT = Path(__file__).resolve().parents[2]
KEYS = 60


def _heredoc(name: str) -> str:
    found = re.search(rf"cat > {re.escape(name)} <<'YAML'\n(.*?)\nYAML\n", TUTORIAL.read_text(encoding="utf-8"), re.DOTALL)
    assert found, f"the tutorial no longer writes {name}"
    return found.group(1)


def _cases(raw: Path, split: str, card: ModelCard) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    from qms.models.preprocess import to_tensor

    with (raw / "labels.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == split and not r["exclusion"]]
    x = torch.stack([to_tensor(raw / r["file"], card.input) for r in rows])
    y = torch.tensor([[float(r["cardiomegaly"])] for r in rows])
    patients = [str(pydicom.dcmread(raw / r["file"], stop_before_pixels=True).PatientID) for r in rows]
    return x, y, patients


@pytest.mark.slow
def test_the_tutorial_recipe_learns_under_every_drawn_key(tmp_path: Path) -> None:
    """For 60 drawn pseudonym sets the tutorial's recipe reaches a test AUROC >= 0.8 (its protocol accepts a CI lower bound >= 0.6)."""
    raw = tmp_path / "raw"
    subprocess.run([sys.executable, str(ROOT / "examples" / "cxr-triage" / "generate.py"), "--out", str(raw),
                    "--patients", "40", "--seed", "7"], check=True, capture_output=True)
    (tmp_path / "card.template.yaml").write_text(_heredoc("model/card.template.yaml"), encoding="utf-8")
    (tmp_path / "train.yaml").write_text(_heredoc("model/train.yaml"), encoding="utf-8")
    config, card, _ = training.load_config(tmp_path / "train.yaml")
    x, y, patients = _cases(raw, "train", card)
    test_x, test_y, _ = _cases(raw, "test", card)
    rng = np.random.default_rng(20261206)
    aurocs = []
    for _ in range(KEYS):
        pseudonym = {p: rng.bytes(8).hex() for p in sorted(set(patients))}
        tuning = training._tuning_mask([pseudonym[p] for p in patients], config.tuning_fraction, config.seed)
        model, _ = training.fit(config, card, x, y, tuning, None)
        with torch.inference_mode():
            scores = torch.sigmoid(training._logits(model, test_x)).numpy()[:, 0]
        aurocs.append(roc_auc(test_y.numpy()[:, 0], scores))
    assert min(aurocs) >= 0.8, f"test AUROC per drawn key: {[round(a, 2) for a in aurocs]}"
