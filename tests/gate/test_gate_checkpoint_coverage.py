"""Every signature, promotion and bundle is covered by a signed checkpoint: deleting events after it, cutting the
checkpoint log's tail, or deleting the log and rewriting the chain is a finding of the gate's audit criterion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qms import audit, checkpoint, checkpoint_log
from qms.errors import CheckFailed
from qms.findings import Finding
from qms.gate.checks.audit import AuditTrailIntact
from qms.gate.context import GateContext
from qms.release import assembly, bundle
from qms.release_steps import ReleaseStep, step_event
from qms.signing import sign_bytes
from qms.signing.manifest import Provenance, sign_manifest
from qms.store.records import AuditEvent
from tests.core.tamper import drop_protection, drop_table_protection, execute, forge
from tests.release.demo_org import DemoOrg, demo_org, passphrase

APPROVER = "demo.approver"


@pytest.fixture
def org(tmp_path: Path) -> DemoOrg:
    """A project whose roster was approved, and release 1.0.0 sealed into a bundle and recorded as bundled."""
    org = demo_org(tmp_path)
    _bundle(org, tmp_path / "staged")
    return org


def _bundle(org: DemoOrg, staged: Path) -> None:
    """What `qms release` does: a document signed, then checkpoint, seal the manifest (auto-checkpointed), write the zip, record it."""
    project = org.project
    sign_bytes(org.store, org.home, "demo.author", passphrase("demo.author"), b"report", "authored", "release:1.0.0:doc")
    sealed = checkpoint_log.seal(org.store, org.home / checkpoint.KEY_FILE, project.records_dir / checkpoint_log.LOG_FILE)
    key = checkpoint.load_key(org.home / checkpoint.KEY_FILE)
    files = {bundle.CHECKPOINT: json.dumps(sealed.to_json()).encode(),
             bundle.RELEASE: assembly.release_json("1.0.0", {}, org.store.store_id, key.public_key(), {})}
    for name, data in files.items():
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        (staged / name).write_bytes(data)
    doc, _ = sign_manifest(org.store, org.home, APPROVER, passphrase(APPROVER), staged, sorted(files),
                           Provenance("d" * 40), "approved", "release:1.0.0:manifest")
    assembly.write_bundle(assembly.bundle_path(project, "1.0.0"), files, doc)
    with org.store.transaction() as session:
        row = ReleaseStep(version="1.0.0", step="bundled", actor=APPROVER, commit="d" * 40, model="m@1",
                          plan_digest="p", verdict_digest="v", documents="{}", soup="{}")
        session.add(row)
        session.flush()
        audit.append(session, step_event(row, APPROVER))
    checkpoint_log.seal(org.store, org.home / checkpoint.KEY_FILE, project.records_dir / checkpoint_log.LOG_FILE)


def _findings(org: DemoOrg) -> list[Finding]:
    return list(AuditTrailIntact().evaluate(GateContext(org.project, org.store, org.plan(), identity_dir=org.home)).findings)


def _log(org: DemoOrg) -> Path:
    return org.project.records_dir / checkpoint_log.LOG_FILE


def _signature_events(org: DemoOrg) -> list[AuditEvent]:
    return audit.log(org.store, action="signature.apply")


def test_a_release_trail_checkpointed_as_it_happened_passes(org: DemoOrg) -> None:
    """Signatures recorded through the library checkpoint themselves: the trail of a bundled release has no finding."""
    assert _findings(org) == []
    latest = checkpoint_log.read(_log(org), org.store.store_id, checkpoint_log.trusted_key(org.home / checkpoint.KEY_FILE)).latest
    assert latest is not None and latest.seq == audit.head(org.store)[0]


def test_a_signature_no_checkpoint_covers_is_a_finding_naming_it(org: DemoOrg) -> None:
    """A signature recorded around the checkpointing (a store not attached to its project's log) is named by the gate."""
    org.store.checkpointer = None
    rec = sign_bytes(org.store, org.home, APPROVER, passphrase(APPROVER), b"late", "approved", "doc:late")
    found = _findings(org)
    assert [f.item for f in found] == [f"signature:{rec.id}"]
    assert "covered by no signed checkpoint" in found[0].reason


def test_deleting_the_bundle_events_after_the_last_checkpoint_is_a_finding(org: DemoOrg) -> None:
    """The manifest signature and release.bundled recorded after the last checkpoint, then deleted with their rows:
    the bundle left on disk, recorded by no event, is a finding."""
    org.store.checkpointer = None  # the events after the last checkpoint: none covers them
    lines = _log(org).read_bytes().splitlines(keepends=True)
    _log(org).write_bytes(b"".join(lines[:-2]))  # as if the manifest signature and the bundle were never sealed
    last = checkpoint_log.read(_log(org), org.store.store_id, checkpoint_log.trusted_key(org.home / checkpoint.KEY_FILE))
    assert last.latest is not None
    drop_protection(org.store)
    for table in ("signature", "release_step"):
        drop_table_protection(org.store, table)
    manifest = next(e for e in _signature_events(org) if e.object == "release:1.0.0:manifest")
    execute(org.store, "DELETE FROM signature WHERE object_ref = 'release:1.0.0:manifest'")
    execute(org.store, "DELETE FROM release_step")
    execute(org.store, "DELETE FROM audit_event WHERE seq > :s", s=last.latest.seq)
    assert manifest.seq > last.latest.seq
    found = _findings(org)
    assert any(f.item == str(assembly.bundle_path(org.project, "1.0.0")) and "release.bundled" in f.reason for f in found)


def test_deleting_pinned_events_after_the_checkpoint_breaks_the_chain(org: DemoOrg) -> None:
    """With every signature checkpointed at once, deleting the last events (and their rows) breaks a pinned event."""
    drop_protection(org.store)
    head = audit.head(org.store)[0]
    execute(org.store, "DELETE FROM audit_event WHERE seq > :s", s=head - 3)
    assert any("events were removed" in f.reason for f in _findings(org))


def test_a_cut_log_tail_is_a_finding(org: DemoOrg) -> None:
    """Removing the checkpoint log's last lines leaves signatures uncovered and the bundle's checkpoint newer than the log."""
    lines = _log(org).read_bytes().splitlines(keepends=True)
    _log(org).write_bytes(b"".join(lines[:-3]))  # the bundle, the manifest signature and the bundle's checkpoint
    found = _findings(org)
    manifest = next(e for e in _signature_events(org) if e.object == "release:1.0.0:manifest")
    items = {f.item for f in found}
    assert f"signature:{json.loads(manifest.details)['signature']}" in items
    assert any(f.item == str(assembly.bundle_path(org.project, "1.0.0")) and "tail was cut" in f.reason for f in found)


def test_a_deleted_log_and_a_rewritten_chain_are_caught_by_the_bundles_checkpoint(org: DemoOrg) -> None:
    """Deleting the log and rewriting the chain (an early event dropped, all renumbered and re-hashed) fails against the
    checkpoint the bundle carries, signed by the trusted key; the missing log is named, never silently OK."""
    _log(org).unlink()
    drop_protection(org.store)
    forge(org.store, lambda rows: rows[1:])
    found = _findings(org)
    assert any(f.item.startswith("audit event") and "rewritten" in f.reason for f in found)
    assert any("the checkpoint log is missing" in f.reason for f in found)
    assert any("tail was cut or the log deleted" in f.reason for f in found)


def test_a_missing_log_and_key_is_a_finding_and_no_key_is_created(org: DemoOrg) -> None:
    """With the log and the checkpoint key gone, the bundle's checkpoint cannot be checked: a finding, and verifying
    creates no key."""
    _log(org).unlink()
    key = org.home / checkpoint.KEY_FILE
    key.unlink()
    checkpoint_log.public_key_path(key).unlink()
    found = _findings(org)
    assert any("checkpoint key that would verify it is missing" in f.reason for f in found)
    assert any("the checkpoint log is missing" in f.reason for f in found)
    assert not key.exists() and not checkpoint_log.public_key_path(key).exists()


def test_a_cut_log_is_not_healed_by_the_next_checkpoint(org: DemoOrg) -> None:
    """After the log's tail is cut below a bundle's checkpoint, the next signature's checkpoint is refused, so the cut
    stays visible instead of being covered over."""
    lines = _log(org).read_bytes().splitlines(keepends=True)
    _log(org).write_bytes(b"".join(lines[:-3]))
    with pytest.raises(CheckFailed, match="tail was cut"):
        sign_bytes(org.store, org.home, APPROVER, passphrase(APPROVER), b"after", "approved", "doc:after")
    assert _log(org).read_bytes() == b"".join(lines[:-3])


def test_a_deleted_event_whose_record_stays_is_a_finding(tmp_path: Path) -> None:
    """A bundle recorded after the last checkpoint (its store not attached to the log) whose release.bundled event is
    then deleted leaves its release record and its zip behind: both are named."""
    org = demo_org(tmp_path)
    org.store.checkpointer = None
    lines = len(_log(org).read_bytes().splitlines())
    _bundle(org, tmp_path / "staged")
    _log(org).write_bytes(b"".join(_log(org).read_bytes().splitlines(keepends=True)[:lines + 1]))  # the bundle's own
    drop_protection(org.store)
    execute(org.store, "DELETE FROM audit_event WHERE action = 'release.bundled'")
    items = {f.item for f in _findings(org)}
    assert {"bundle of release:1.0.0", str(assembly.bundle_path(org.project, "1.0.0"))} <= items


def _audit_verify(org: DemoOrg, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, object]]:
    """`qms audit verify --json` (no --against) on the project, as its users run it."""
    from typer.testing import CliRunner

    from qms.cli.main import app

    monkeypatch.setenv("QMS_HOME", str(org.home))
    monkeypatch.setenv("QMS_DATABASE_URL", org.store.url)
    result = CliRunner().invoke(app, ["-C", str(org.root), "audit", "verify", "--json"])
    return result.exit_code, json.loads(result.output)


def _delete_the_release_after(org: DemoOrg, seq: int) -> None:
    """The attacker's part with database access: every event after `seq` deleted."""
    drop_protection(org.store)
    execute(org.store, "DELETE FROM audit_event WHERE seq > :s", s=seq)


def test_audit_verify_applies_the_coverage_rule_to_a_deleted_log(org: DemoOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms audit verify` with the checkpoint log deleted and the release's last events deleted after it exits 1 naming
    the missing log and the bundle left behind, as the gate does; the chain alone would recompute."""
    assert _audit_verify(org, monkeypatch)[0] == 0
    manifest = next(e for e in _signature_events(org) if e.object == "release:1.0.0:manifest")
    _log(org).unlink()
    _delete_the_release_after(org, manifest.seq - 1)
    assert audit.verify(org.store).intact
    code, out = _audit_verify(org, monkeypatch)
    reasons = [str(f["reason"]) for f in out["integrity"]]  # type: ignore[union-attr]
    assert code == 1 and out["intact"] is True
    assert any("the checkpoint log is missing" in r for r in reasons)
    assert any("recorded by no release.bundled audit event" in r for r in reasons)


def test_audit_verify_applies_the_coverage_rule_to_a_cut_log(org: DemoOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms audit verify` with the log's tail cut and the events after the new tail deleted exits 1 naming the bundle
    whose checkpoint is newer than the log and whose event is gone."""
    lines = _log(org).read_bytes().splitlines(keepends=True)
    _log(org).write_bytes(b"".join(lines[:-3]))
    tail = checkpoint_log.read(_log(org), org.store.store_id, checkpoint_log.trusted_key(org.home / checkpoint.KEY_FILE))
    assert tail.latest is not None
    _delete_the_release_after(org, tail.latest.seq)
    code, out = _audit_verify(org, monkeypatch)
    items = {str(f["item"]) for f in out["integrity"]}  # type: ignore[union-attr]
    assert code == 1 and {"bundle of release:1.0.0", str(assembly.bundle_path(org.project, "1.0.0"))} <= items
