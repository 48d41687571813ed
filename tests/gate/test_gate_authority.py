"""Check 7, authority: the gate names an unapproved roster, a plan that cannot separate duties, and a person in two roles."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.gate.checks.authority import SigningAuthority
from qms.gate.context import GateContext
from qms.release_steps import ReleaseStep
from tests.release.demo_org import DemoOrg, demo_org


@pytest.fixture
def org(tmp_path: Path) -> DemoOrg:
    return demo_org(tmp_path)


def _ctx(org: DemoOrg) -> GateContext:
    return GateContext(org.project, org.store, org.plan(), identity_dir=org.home)


def _items(org: DemoOrg) -> set[str | None]:
    return {f.item for f in SigningAuthority().evaluate(_ctx(org)).findings}


def test_approved_roster_and_distinct_signers_pass(org: DemoOrg) -> None:
    """The example's approved roster and its three distinct signers pass the authority check."""
    outcome = SigningAuthority().evaluate(_ctx(org))
    assert outcome.passed, outcome.findings


def test_unapproved_roster_is_a_finding(org: DemoOrg) -> None:
    """A roster changed since its approval is a finding naming the roster file."""
    roster = org.root / "signing-roster.yaml"
    roster.write_text(roster.read_text() + "  mallory: {kind: person, roles: [approver]}\n")
    findings = SigningAuthority().evaluate(_ctx(org)).findings
    assert [f.item for f in findings] == ["roster"] and "not approved" in findings[0].reason


def test_one_person_in_three_roles_is_a_finding(org: DemoOrg) -> None:
    """A plan whose roles can only be signed by one person (all three roles) fails the gate under distinct duties."""
    roster = org.root / "signing-roster.yaml"
    roster.write_text(roster.read_text().replace("roles: [reviewer, quality]", "roles: [author, reviewer, approver, quality]"))
    org.approve_roster()
    plan = org.root / "release-plan.yaml"
    plan.write_text(plan.read_text().replace("[demo.author]", "[demo.reviewer]").replace("[demo.approver]", "[demo.reviewer]"))
    assert _items(org) == {"plan:signatures"}


def test_recorded_steps_by_one_person_are_a_finding(org: DemoOrg) -> None:
    """A release whose recorded authorship and review name the same person is a finding naming the release."""
    for step in ("authored", "reviewed"):
        org.store.add(ReleaseStep(version="1.0.0", step=step, actor="demo.author", commit="c", model="m@1", plan_digest="p",
                                  verdict_digest="v", documents="{}", soup="{}"))
    findings = SigningAuthority().evaluate(_ctx(org)).findings
    assert [f.item for f in findings] == ["release:1.0.0"] and "author and reviewer" in findings[0].reason
