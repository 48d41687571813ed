"""The model card is validated whole: what a release needs is required, errors name the file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from qms.models.card import ModelCard
from qms.models.errors import ModelError
from tests.models.helpers import card


@pytest.mark.parametrize("changes, message", [
    ({"intended_use": ""}, "'intended_use'"),
    ({"training_data": {"summary": "x", "manifest_sha256": "abc"}}, "training_data.manifest_sha256"),
    ({"performance_claims": [{"endpoint": "AUROC", "label": "atelectasis", "claim": "x", "dataset": "y"}]},
     "not an output label"),
    ({"input": {"modalities": ["DX"], "image_size": 64, "channels": 3, "mean": [0.5], "std": [0.2]}},
     "one value per channel"),
    ({"architecture": {"format": "torch"}}, "needs torch_class"),
    ({"output_labels": ["a", "a"]}, "a label twice"),
    ({"colour": "blue"}, "unknown model card field 'colour'"),
])
def test_invalid_cards_are_refused_naming_the_field(changes: dict[str, Any], message: str) -> None:
    """Each defect a release could not accept is refused, with the card file and the field named."""
    with pytest.raises(ModelError, match=message) as err:
        ModelCard.from_json(card(**changes), "model/model_card.yaml")
    assert err.value.where == "model/model_card.yaml"


def test_card_round_trips_through_json() -> None:
    """A card parsed, written to JSON and parsed again is the same card (what the registry stores)."""
    parsed = ModelCard.from_json(card(), "c.yaml")
    assert ModelCard.from_json(parsed.to_json(), "c.yaml") == parsed


def test_card_file_errors_name_the_line(tmp_path: Path) -> None:
    """A card read from its file names the file and line of a bad field, and of a YAML syntax error."""
    path = tmp_path / "model_card.yaml"
    path.write_text(yaml.safe_dump(card(colour="blue"), sort_keys=False), encoding="utf-8")
    with pytest.raises(ModelError, match="'colour'") as err:
        ModelCard.from_file(path)
    file, line = str(err.value.where).rsplit(":", 1)
    assert file == str(path) and path.read_text(encoding="utf-8").splitlines()[int(line) - 1].startswith("colour:")
    path.write_text("intended_use: x\noutput_labels: [a\n", encoding="utf-8")
    with pytest.raises(ModelError, match="not valid YAML") as err:
        ModelCard.from_file(path)
    assert err.value.where == f"{path}:2"  # the [ left open on line 2


def test_a_misspelt_card_field_is_named_as_the_typo_with_the_field_meant() -> None:
    """`ouput_labels` for `output_labels` is refused as an unknown field with "did you mean 'output_labels'", not as a missing one."""
    data = card()
    data["ouput_labels"] = data.pop("output_labels")
    with pytest.raises(ModelError) as caught:
        ModelCard.from_json(data, "model/model_card.yaml")
    assert "unknown model card field 'ouput_labels'" in caught.value.message
    assert "did you mean 'output_labels'?" in (caught.value.hint or "")
