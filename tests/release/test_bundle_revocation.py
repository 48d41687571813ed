"""Revocation and trusted time in `bundle verify`: re-sealing with a revoked key fails; a timestamped seal outlives revocation."""

from __future__ import annotations

import datetime as dt
import sqlite3
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography import x509

from qms.cli.main import app
from qms.release import assembly, bundle
from qms.signing import Trust, revoke
from qms.signing.crl import crl_der, current_crl, issue_crl
from qms.signing.manifest import Provenance, sign_manifest
from qms.store import open_store
from tests.release.conftest import CA_PASS, PASS, SIGNERS, Built, build

APPROVER = SIGNERS["approver"][0]


def _files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n not in (bundle.ENVELOPE, bundle.MANIFEST)}


def _reseal(built: Built, tmp: Path, files: dict[str, bytes], *, store_path: Path, at: dt.datetime) -> Path:
    """What a holder of the approver's key and an old copy of the store can make: a fresh manifest over edited files."""
    staged = tmp / "staged"
    for name, data in files.items():
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        (staged / name).write_bytes(data)
    stale = open_store(f"sqlite:///{store_path}")
    doc, _ = sign_manifest(stale, built.home, APPROVER, PASS, staged, sorted(files), Provenance("d" * 40), "approved",
                           "release:1.0.0:manifest", now=at)
    stale.dispose()
    out = tmp / "resealed.zip"
    assembly.write_bundle(out, files, doc)
    return out


def _copy_store(src: Path, dst: Path) -> Path:
    """A consistent copy of a live SQLite store (its write-ahead log included)."""
    with sqlite3.connect(src) as source, sqlite3.connect(dst) as target:
        source.backup(target)
    return dst


@pytest.fixture
def fresh(tmp_path: Path) -> Built:
    return build(tmp_path / "plain")


def test_bundle_resealed_with_a_revoked_key_is_rejected(fresh: Built, tmp_path: Path) -> None:
    """A bundle re-sealed after the approver's revocation, its time backdated, fails against the CA's CRL or the store's revocations."""
    copy = _copy_store(tmp_path / "plain" / "qms.db", tmp_path / "before-revocation.db")
    revoke(fresh.store, APPROVER, "key compromised", actor="admin")
    crl = crl_der(issue_crl(fresh.store, fresh.home, CA_PASS))
    files = _files(fresh.path)
    files["data/anomalies.json"] = files["data/anomalies.json"].replace(b"}", b" }", 1)
    forged = _reseal(fresh, tmp_path, files, store_path=copy, at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30))
    for report in (bundle.verify_bundle(forged, fresh.anchors, crls=[(crl, "current.crl")]),
                   bundle.verify_bundle(forged, fresh.anchors, revocations=Trust.from_store(fresh.store).revocations)):
        assert not report.ok
        manifest = next(f for f in report.findings if f.item == bundle.ENVELOPE)
        assert "revoked" in manifest.reason and "self-reported" in manifest.reason


def test_bundle_carries_the_crl_and_a_lookalike_crl_is_a_finding(fresh: Built, tmp_path: Path) -> None:
    """A CRL shipped in the bundle is used by the verifier; one not signed by the trusted CA is a finding, not trusted."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    lookalike = (x509.CertificateRevocationListBuilder().issuer_name(fresh.anchors[0].subject).last_update(now)
                 .next_update(now + dt.timedelta(days=7)).sign(key, hashes.SHA256()))
    files = _files(fresh.path)
    files[bundle.CRL] = crl_der(lookalike)
    copy = _copy_store(tmp_path / "plain" / "qms.db", tmp_path / "copy.db")
    report = bundle.verify_bundle(_reseal(fresh, tmp_path, files, store_path=copy, at=now), fresh.anchors)
    assert ("bundle.revocation", bundle.CRL) in {(f.check, f.item) for f in report.findings}


def test_timestamped_bundle_still_verifies_after_the_signers_are_revoked(tmp_path: Path) -> None:
    """With a TSA every signature and the manifest carry trusted time: revoking all signers later leaves the bundle valid."""
    built = build(tmp_path / "stamped", tsa="local")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # CRL times are whole seconds: clearly after the signatures
    for uid, _, _ in SIGNERS.values():
        revoke(built.store, uid, "left the company", actor="admin", now=later)
    crl = crl_der(issue_crl(built.store, built.home, CA_PASS))
    report = bundle.verify_bundle(built.path, built.anchors, crls=[(crl, "current.crl")])
    assert report.ok, report.findings
    assert all(s["time_trusted"] for s in report.signatures)


def test_release_signed_with_a_tsa_requires_trusted_time(tmp_path: Path) -> None:
    """A bundle whose release.json says it was signed with a TSA fails when its manifest's timestamp is stripped."""
    built = build(tmp_path / "stamped", tsa="local")
    envelope = {k: v for k, v in built.envelope.items() if k != "timestamp"}
    stripped = tmp_path / "stripped.zip"
    assembly.write_bundle(stripped, built.files, envelope)
    report = bundle.verify_bundle(stripped, built.anchors)
    assert not report.ok and any("time not trusted" in f.reason for f in report.findings)


def test_user_revoke_publishes_the_crl_a_later_bundle_carries(fresh: Built, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms user revoke` publishes a CA-signed CRL at once: a bundle sealed afterwards carries it, and `bundle verify`
    with nothing but the CA rejects the revoked author's signature (its time self-reported), no `qms ca crl` needed."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "qms.toml").write_text('[tool.qms]\ndevice = "Synthetic Triage"\nsafety_class = "B"\n'
                                   'manufacturer = "Example Ltd"\nintended_use = "A synthetic test device."\n')
    for name, value in {"QMS_HOME": str(fresh.home), "QMS_DATABASE_URL": f"sqlite:///{tmp_path / 'plain' / 'qms.db'}",
                        "QMS_CA_PASSPHRASE": CA_PASS}.items():
        monkeypatch.setenv(name, value)
    revoked = CliRunner().invoke(app, ["-C", str(root), "user", "revoke", SIGNERS["author"][0], "--reason", "key lost"])
    assert revoked.exit_code == 0, revoked.output
    crl = current_crl(fresh.store, fresh.home)  # what `qms release` puts in the bundle it seals (`assembly`)
    assert crl is not None
    files = {**_files(fresh.path), bundle.CRL: crl}
    sealed = _reseal(fresh, tmp_path, files, store_path=tmp_path / "plain" / "qms.db", at=dt.datetime.now(dt.UTC))
    report = bundle.verify_bundle(sealed, fresh.anchors)
    assert not report.ok
    assert any(f.item == "documents/anomaly-list.pdf" and "revoked" in f.reason for f in report.findings)
