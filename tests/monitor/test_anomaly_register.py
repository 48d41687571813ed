"""Opening an anomaly appends a valid entry to the register, or leaves a register it cannot extend unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.anomalies import AnomalySeverity, load_register, open_anomaly
from qms.errors import ConfigError


def test_missing_register_is_created_with_the_first_anomaly(tmp_path: Path) -> None:
    """With no register file yet, the first anomaly creates it as PREFIX-001, open, with its title quoted safely."""
    path = tmp_path / "anomalies.yaml"
    opened = open_anomaly(path, "PMS", 'Drift: "score" #1', AnomalySeverity.MAJOR, "to evaluate")
    assert (opened.id, opened.title, opened.status.value) == ("PMS-001", 'Drift: "score" #1', "open")
    assert [a.id for a in load_register(path)] == ["PMS-001"]


def test_register_that_cannot_take_an_entry_is_left_as_it_was(tmp_path: Path) -> None:
    """A register whose list is not last is refused with a ConfigError naming it, and its text is unchanged."""
    path = tmp_path / "anomalies.yaml"
    text = "anomalies: []\nowner: quality\n"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        open_anomaly(path, "PMS", "Drift", AnomalySeverity.MAJOR, "to evaluate")
    assert exc.value.where == str(path) and path.read_text() == text
