"""Separation of duties and roster authority when a release is signed: refused before anything is signed."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.errors import QmsError
from qms.release.service import check_signer
from qms.release_steps import ReleaseStep
from qms.signing.meaning import SignatureMeaning
from tests.release.demo_org import DemoOrg, demo_org

DOCS = ["validation-report"]


@pytest.fixture
def org(tmp_path: Path) -> DemoOrg:
    return demo_org(tmp_path)


def _share_reviewer_duty(org: DemoOrg, rule: str | None = None) -> None:
    """The author is also named (plan) and allowed (roster, re-approved) as a reviewer."""
    plan = org.root / "release-plan.yaml"
    text = plan.read_text().replace("reviewer: [demo.reviewer]", "reviewer: [demo.reviewer, demo.author]")
    if rule is not None:
        text = text.replace("  B: distinct", f"  B: {rule}")
    plan.write_text(text)
    roster = org.root / "signing-roster.yaml"
    roster.write_text(roster.read_text().replace("demo.author: {kind: person, roles: [author]}",
                                                 "demo.author: {kind: person, roles: [author, reviewer]}"))
    org.approve_roster()


def _authored_by(org: DemoOrg, user_id: str) -> None:
    org.store.add(ReleaseStep(version=org.plan().version, step="authored", actor=user_id, commit="c", model="m@1",
                              plan_digest="p", verdict_digest="v", documents="{}", soup="{}"))


def test_author_may_not_review_the_same_release(org: DemoOrg) -> None:
    """The person who authored a release is refused as its reviewer while the plan requires distinct people."""
    _share_reviewer_duty(org)
    _authored_by(org, "demo.author")
    with pytest.raises(QmsError, match="already signed release 1.0.0 as author"):
        check_signer(org.project, org.store, org.home, org.plan(), SignatureMeaning.REVIEWED, "demo.author", DOCS)
    check_signer(org.project, org.store, org.home, org.plan(), SignatureMeaning.REVIEWED, "demo.reviewer", DOCS)


def test_shared_duties_are_allowed_where_the_plan_says_so(org: DemoOrg) -> None:
    """With `separation_of_duties: {B: shared}` the author may also review a class B release."""
    _share_reviewer_duty(org, "shared")
    _authored_by(org, "demo.author")
    assert not org.plan().distinct_people
    check_signer(org.project, org.store, org.home, org.plan(), SignatureMeaning.REVIEWED, "demo.author", DOCS)


def test_unapproved_roster_refuses_every_signer(org: DemoOrg) -> None:
    """A roster edited after its approval (a signer added) authorises no one until a quality person approves it again."""
    roster = org.root / "signing-roster.yaml"
    roster.write_text(roster.read_text() + "  mallory: {kind: person, roles: [approver]}\n")
    with pytest.raises(QmsError, match="not approved"):
        check_signer(org.project, org.store, org.home, org.plan(), SignatureMeaning.AUTHORED, "demo.author", DOCS)


def test_service_identity_is_refused_as_reviewer(org: DemoOrg) -> None:
    """A service identity named as reviewer in the plan is refused: the roster cannot even grant it that duty."""
    plan = org.root / "release-plan.yaml"
    plan.write_text(plan.read_text().replace("reviewer: [demo.reviewer]", "reviewer: [ci.release]"))
    with pytest.raises(QmsError, match="ci.release may not sign validation-report as reviewer"):
        check_signer(org.project, org.store, org.home, org.plan(), SignatureMeaning.REVIEWED, "ci.release", DOCS)


def test_bundle_carries_the_approved_roster_and_plan(org: DemoOrg) -> None:
    """Assembly puts the approved roster, its approval and the plan with its commit in the bundle, and they check offline."""
    import json

    from qms.release import bundle
    from qms.release.assembly import authority_files
    from qms.signing import Trust
    from qms.signing.authority import check_approval

    plan = org.plan()
    files = authority_files(org.store, org.home, plan, "c" * 40, org.project.path(plan.roster_file))
    assert set(files) == {bundle.ROSTER, bundle.ROSTER_APPROVAL, bundle.PLAN}
    carried = json.loads(files[bundle.PLAN])
    assert carried["commit"] == "c" * 40 and carried["distinct_people"] and carried["safety_class"] == "B"
    roster, problems = check_approval(files[bundle.ROSTER], json.loads(files[bundle.ROSTER_APPROVAL]),
                                      Trust.from_store(org.store, org.home), bundle.ROSTER)
    assert roster is not None and not problems


def test_signing_a_completed_release_is_a_usage_error_not_a_crash(org: DemoOrg) -> None:
    """Signing a release that is already approved and bundled says it is complete, and records nothing."""
    from qms.release.service import sign
    from qms.signing.signatory import Signatory

    for step in ("authored", "reviewed", "approved", "bundled"):
        org.store.add(ReleaseStep(version=org.plan().version, step=step, actor="demo.approver", commit="c", model="m@1",
                                  plan_digest="p", verdict_digest="v", documents="{}", soup="{}"))
    signer = Signatory("demo.approver", "demo-approver-passphrase", "demo.approver", False)
    with pytest.raises(QmsError, match="release 1.0.0 is complete"):
        sign(org.project, org.store, org.home, "1.0.0", SignatureMeaning.APPROVED, signer)
    assert len(org.store.all(ReleaseStep)) == 4


def test_the_approval_that_completes_a_release_is_reported_as_an_approval(tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The step that completes a release is recorded as bundled, but the command tells the approver "approved by"."""
    from qms.cli.commands.release import _report
    from qms.release.service import StepResult

    step = ReleaseStep(version="1.0.0", step="bundled", actor="carol", commit="c", model="m@1", plan_digest="p",
                       verdict_digest="v", documents="{}", soup="{}")
    _report(StepResult(step, tmp_path, bundle=tmp_path / "1.0.0-bundle.zip"), json_out=False)
    out = capsys.readouterr().out
    assert "release 1.0.0: approved by carol" in out and "bundled by" not in out


def test_authoring_a_completed_release_says_it_is_complete_and_points_to_the_bundle(org: DemoOrg) -> None:
    """`qms release VERSION` and `qms release sign` on a bundled release both say it is complete and name
    `qms bundle verify` with the bundle's path, instead of sending the user from one to the other."""
    from typer.testing import CliRunner

    from qms.cli.main import app
    from qms.release.assembly import bundle_path

    for step in ("authored", "reviewed", "approved", "bundled"):
        org.store.add(ReleaseStep(version=org.plan().version, step=step, actor="demo.approver", commit="c", model="m@1",
                                  plan_digest="p", verdict_digest="v", documents="{}", soup="{}"))
    env = {"QMS_DATABASE_URL": org.store.url, "QMS_HOME": str(org.home)}
    bundle = bundle_path(org.project, "1.0.0")
    for args, user in ((["release", "1.0.0"], "demo.author"),
                       (["release", "sign", "1.0.0", "--meaning", "approved"], "demo.approver")):
        result = CliRunner().invoke(app, ["-C", str(org.root), *args, "--user", user], env=env,
                                    input=f"{user.replace('.', '-')}-passphrase\n")
        text = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert "release 1.0.0 is complete" in text and f"qms bundle verify {bundle}" in text, result.output
        assert "already authored" not in text
    assert len(org.store.all(ReleaseStep)) == 4
