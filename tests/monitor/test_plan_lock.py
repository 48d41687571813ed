"""A post-market plan `qms monitor` cannot execute is refused when the protocol is checked or locked, at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.store import open_store
from qms.validation.records import ProtocolLock
from tests.monitor.plans import BIAS_PROTOCOL
from tests.validation.runs import project_cli
from tests.validation.synthetic import line_of, make_project

FREQUENCY = "  frequency: every 7 days, and after every 400 flagged studies\n"
TRIGGER = "    sensitivity of any group below 0.5 on its lower 95 % bound, or a flag-rate gap between manufacturers above 0.20\n"


@pytest.mark.parametrize(("old", "new", "needle", "accepted"), [
    (FREQUENCY, "  frequency: whenever the owner has time\n", "frequency:", "every N days"),
    (TRIGGER, "    sensitivity looks worse than it did\n", "trigger:", "clauses joined by ', or'"),
    (TRIGGER, "    a flag-rate gap between sites x scanners above 0.2\n", "trigger:", "intersections: none listed"),
])
def test_protocol_lock_refuses_a_plan_outside_the_monitor_grammar(tmp_path: Path, sqlite_url: str,
                                                                  monkeypatch: pytest.MonkeyPatch, old: str, new: str,
                                                                  needle: str, accepted: str) -> None:
    """`qms protocol lock` and `qms protocol check` refuse a post-market frequency or trigger outside the grammar
    `qms monitor` executes (exit 2), naming the protocol's file:line and the forms it accepts, and lock nothing."""
    assert old in BIAS_PROTOCOL
    text = BIAS_PROTOCOL.replace(old, new)
    path = make_project(tmp_path, 20, protocol=text)
    qms = project_cli(tmp_path, sqlite_url, monkeypatch)
    for command in ("lock", "check"):
        result = qms("protocol", command, str(path))
        assert result.exit_code == 2, result.output
        flat = " ".join(result.output.split())
        assert f"p.yaml:{line_of(text, needle)}" in flat and accepted in flat
    assert open_store(sqlite_url).all(ProtocolLock) == []


def test_the_plan_in_the_grammar_still_checks(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The monitoring tests' bias protocol, whose plan is in the grammar, passes `qms protocol check`."""
    path = make_project(tmp_path, 20, protocol=BIAS_PROTOCOL)
    result = project_cli(tmp_path, sqlite_url, monkeypatch)("protocol", "check", str(path))
    assert result.exit_code == 0, result.output
