"""The service scores the DICOM it parsed at the door in memory, exactly as validation scores the same file."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from qms.api.ingest import DICOM, IngestError, parse_body
from qms.api.scoring import score
from qms.models import registry
from qms.models.inference import predict
from tests.api.service import NAME, Released, dicom_bytes
from tests.models.helpers import dicom


def test_scoring_writes_no_file_and_matches_validation(released: Released, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """With no usable temporary folder at all, a request's instance is still scored, with the probabilities
    `predict` gives the same bytes as a file (the card's preprocessing, decoded once, nothing written)."""
    model = registry.load(released.store, f"{NAME}@1.0.0", root=released.root)
    body = dicom_bytes(dicom(np.arange(40 * 30, dtype=np.uint16).reshape(40, 30) * 3))
    (tmp_path / "x.dcm").write_bytes(body)
    expected = predict(model, [tmp_path / "x.dcm"]).probabilities[0]
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))
    got = score(model, parse_body(DICOM, body))
    np.testing.assert_allclose([got[0][label] for label in model.labels], expected, rtol=0, atol=1e-6)


def test_an_image_the_card_refuses_names_its_part_and_tag(released: Released) -> None:
    """An instance whose Modality the card does not accept is a 422 naming the part and the tag (0008,0060)."""
    model = registry.load(released.store, f"{NAME}@1.0.0", root=released.root)
    ds = dicom()
    ds.Modality = "MR"
    with pytest.raises(IngestError) as exc:
        score(model, parse_body(DICOM, dicom_bytes(ds)))
    assert exc.value.status == 422 and exc.value.where == "part 1 (0008,0060)" and "Modality 'MR'" in exc.value.message
