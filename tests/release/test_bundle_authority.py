"""`bundle verify` judges every signature by the approved signing roster and the plan the bundle carries, never by release.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qms.release import bundle
from qms.signing import Role
from qms.signing.authority import approval_document, approve_roster
from qms.signing.roster import Roster
from qms.signing.signatory import Signatory
from tests.release.conftest import PASS, ROSTER, SERVICE, Built, build
from tests.release.forgery import forged_signature, members, resealed


def _checks(report: bundle.BundleReport) -> set[tuple[str, str | None]]:
    return {(f.check, f.item) for f in report.findings}


def test_forged_roster_is_rejected(built: Built, tmp_path: Path) -> None:
    """A roster rewritten and approved by a non-quality identity (an engineer naming himself quality) fails, even re-sealed."""
    files = members(built.path)
    forged = json.loads(files[bundle.ROSTER])
    forged["identities"]["rob.reviewer"] = {"kind": "person", "roles": ["approver", "quality", "reviewer", "seal"],
                                            "documents": ["*"]}
    files[bundle.ROSTER] = json.dumps(forged, sort_keys=True, separators=(",", ":")).encode()
    files[bundle.ROSTER_APPROVAL] = json.dumps(forged_signature(built, "rob.reviewer", files[bundle.ROSTER], "approved",
                                                                "signing-roster:forged")).encode()
    report = bundle.verify_bundle(resealed(built, files, "rob.reviewer", "approved", tmp_path / "b.zip"), built.anchors)
    assert ("bundle.roster", bundle.ROSTER) in _checks(report) and not report.ok
    assert any("certificate states the role engineer" in f.reason for f in report.findings)


def test_service_identity_cannot_grant_itself_approval(built: Built, tmp_path: Path) -> None:
    """The CI service identity adds itself as approver to release.json and re-seals as approved: verify refuses."""
    files = members(built.path)
    release = json.loads(files[bundle.RELEASE])
    release["roles"]["approver"].append(SERVICE)
    files[bundle.RELEASE] = json.dumps(release).encode()
    report = bundle.verify_bundle(resealed(built, files, SERVICE, "approved", tmp_path / "b.zip"), built.anchors)
    assert ("bundle.authority", "manifest.dsse.json") in _checks(report) and not report.ok
    assert any("never reviews or approves" in f.reason for f in report.findings)


def test_a_service_seal_approves_nothing(built: Built, tmp_path: Path) -> None:
    """A service identity that re-seals a bundle after editing its data and HTML (or without editing anything) is
    refused: the seal alone covers them, so under a service's seal no person answers for the evidence."""
    files = members(built.path)
    files["data/validation.json"] = b'{"auroc": 0.99}'
    for edited in (files, members(built.path)):
        report = bundle.verify_bundle(resealed(built, edited, SERVICE, "authored", tmp_path / "b.zip"), built.anchors)
        assert not report.ok and any("approved by no person" in f.reason for f in report.findings), report.findings


def test_a_signed_pdf_cannot_stand_in_for_another_document(built: Built, tmp_path: Path) -> None:
    """A genuinely signed PDF renamed to another document's name, re-sealed by the approver, is refused: its
    subject names the document it is."""
    files = members(built.path)
    [name] = [n for n in files if n.startswith("documents/") and n.endswith(".pdf")]
    files["documents/risk-summary.pdf"] = files.pop(name)
    report = bundle.verify_bundle(resealed(built, files, "ada.approver", "approved", tmp_path / "b.zip"), built.anchors)
    assert ("bundle.documents", "documents/risk-summary.pdf") in _checks(report) and not report.ok


def test_bundle_without_roster_has_no_authority(built: Built, tmp_path: Path) -> None:
    """A bundle that carries no approved roster is refused: release.json alone never says who may sign."""
    files = members(built.path)
    del files[bundle.ROSTER]
    report = bundle.verify_bundle(resealed(built, files, "ada.approver", "approved", tmp_path / "b.zip"), built.anchors)
    assert ("bundle.authority", bundle.ROSTER) in _checks(report)


def test_signer_outside_the_roster_is_a_finding(built: Built, tmp_path: Path) -> None:
    """A reviewer the approved roster no longer lists makes the reviewer signature a finding, whatever the plan says."""
    files = members(built.path)
    identities = {u: e for u, e in ROSTER.items() if u != "rob.reviewer"}
    roster = Roster.from_json({"identities": identities}, "roster")
    approval = approve_roster(built.store, built.home, Signatory("ada.approver", PASS), roster)
    files[bundle.ROSTER] = roster.canonical()
    files[bundle.ROSTER_APPROVAL] = json.dumps(approval_document(built.store, built.home, approval)).encode()
    report = bundle.verify_bundle(resealed(built, files, "ada.approver", "approved", tmp_path / "b.zip"), built.anchors)
    assert _checks(report) == {("bundle.roles", "documents/anomaly-list.pdf")}
    assert "rob.reviewer is not on the approved signing roster" in report.findings[0].reason


@pytest.fixture(scope="module")
def one_person(tmp_path_factory: pytest.TempPathFactory) -> Built:
    signers = {"author": ("ada.approver", Role.QUALITY, "authored"), "reviewer": ("ada.approver", Role.QUALITY, "reviewed"),
               "approver": ("ada.approver", Role.QUALITY, "approved")}
    roster = {**ROSTER, "ada.approver": {"kind": "person", "roles": ["author", "reviewer", "approver", "quality", "seal"]}}
    return build(tmp_path_factory.mktemp("one"), signers=signers, roster=roster)


def test_one_person_in_three_roles_is_a_finding(one_person: Built) -> None:
    """One person signing as author, reviewer and approver fails verify when the plan requires distinct people."""
    report = bundle.verify_bundle(one_person.path, one_person.anchors)
    assert ("bundle.duties", bundle.PLAN) in _checks(report) and not report.ok
    assert any("ada.approver signed as author and reviewer and approver" in f.reason for f in report.findings)


def test_shared_duties_allowed_by_the_plan_verify(one_person: Built, tmp_path: Path) -> None:
    """Where the plan's separation_of_duties allows shared duties for the safety class, the same signatures verify."""
    files = members(one_person.path)
    plan = json.loads(files[bundle.PLAN])
    plan["distinct_people"] = False
    files[bundle.PLAN] = json.dumps(plan).encode()
    report = bundle.verify_bundle(resealed(one_person, files, "ada.approver", "approved", tmp_path / "b.zip"),
                                  one_person.anchors)
    assert report.ok, report.findings


def test_a_bundle_sealed_without_a_required_document_fails(built: Built, tmp_path: Path) -> None:
    """The approver's own seal over a bundle that drops a document the carried plan requires is a finding naming it."""
    files = {n: d for n, d in members(built.path).items() if not n.startswith("documents/anomaly-list.")}
    report = bundle.verify_bundle(resealed(built, files, "ada.approver", "approved", tmp_path / "b.zip"), built.anchors)
    assert ("bundle.documents", "documents/anomaly-list.pdf") in _checks(report) and not report.ok


def test_a_plan_that_names_no_documents_requires_the_whole_catalogue(built: Built, tmp_path: Path) -> None:
    """A carried plan without its list of documents requires every catalogue document: the one-document bundle fails."""
    files = members(built.path)
    plan = json.loads(files[bundle.PLAN])
    del plan["documents"]
    files[bundle.PLAN] = json.dumps(plan).encode()
    report = bundle.verify_bundle(resealed(built, files, "ada.approver", "approved", tmp_path / "b.zip"), built.anchors)
    assert ("bundle.documents", "documents/validation-report.pdf") in _checks(report)
    assert ("bundle.documents", "documents/anomaly-list.pdf") not in _checks(report)
