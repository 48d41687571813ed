"""Detached signatures (`sign_bytes`, `qms sign FILE`) carry an RFC 3161 timestamp from the organisation TSA; a verifier
judges the certificate, revocation included, at that trusted time (#14 item 3). The TSA is the real local one."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from qms.hashing import sha256_hex
from qms.signing import revoke, sign_bytes, verify_record
from qms.signing.identity import identity
from qms.signing.keys import load_key
from qms.signing.meaning import Meaning, SignatureMeaning
from qms.signing.sign import Unlocked, detached, read_detached, record_signature, stamp_envelope
from qms.signing.timestamp import stamp
from qms.signing.tsa import Responder, issue_tsa, load_responder
from tests.signing.orgkit import CA_PASS, Org, passphrase

UNTRUSTED = "time not trusted"


@pytest.fixture
def tsa(org: Org) -> Responder:
    issue_tsa(org.home, CA_PASS)
    return load_responder(org.home)


def test_timestamped_bytes_signature_is_trusted_time_and_survives_a_later_revocation(org: Org, tsa: Responder) -> None:
    """With tsa = "local" the record and its detached file carry a token: verified as trusted time, still valid after the
    signer's key is revoked as compromised (the timestamp proves the signature came first)."""
    rec = sign_bytes(org.store, org.home, "alice", passphrase("alice"), b"plan v1", "authored", "doc:plan", tsa="local")
    assert rec.timestamp
    doc = detached(rec, identity(org.store, org.home, "alice").certificate)
    revoke(org.store, "alice", "key compromised", actor="admin")
    for status in (verify_record(rec, b"plan v1", org.trust()), read_detached(doc, "plan.sig.json").verify(
            b"plan v1", org.trust(), "plan.sig.json")):
        assert status.ok and status.time_trusted and status.timestamped_at, status.reasons
        assert not any(UNTRUSTED in w for w in status.warnings)


def test_untimestamped_signature_says_its_time_is_self_reported(org: Org) -> None:
    """Without a TSA the detached signature carries no token: it verifies with "time not trusted", and a revocation fails it."""
    rec = sign_bytes(org.store, org.home, "bob", passphrase("bob"), b"review", "reviewed", "doc:r")
    doc = detached(rec, identity(org.store, org.home, "bob").certificate)
    assert rec.timestamp is None and "timestamp" not in doc
    status = read_detached(doc, "r.sig.json").verify(b"review", org.trust(), "r.sig.json")
    assert status.ok and not status.time_trusted and any(UNTRUSTED in w for w in status.warnings)
    revoke(org.store, "bob", "key compromised", actor="admin")
    assert not verify_record(rec, b"review", org.trust()).ok


def test_backdated_signature_with_a_revoked_key_is_judged_at_its_timestamp(org: Org, tsa: Responder) -> None:
    """A compromised key used after its revocation, its claimed time set before it, is caught by the TSA's time."""
    ident = identity(org.store, org.home, "carol")
    key = load_key(ident.key_path, passphrase("carol"))
    revoke(org.store, "carol", "key compromised", actor="admin")
    backdated = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    forged = record_signature(org.store, Unlocked(ident, key, Meaning(SignatureMeaning.APPROVED), True, backdated),
                              "doc:forged", sha256_hex(b"report"), "bytes",
                              timestamp=lambda env: stamp_envelope("local", org.home, env, "doc:forged"))
    status = verify_record(forged, b"report", org.trust())
    assert status.time_trusted and not status.ok
    assert any("revoked" in r and "before this signature" in r for r in status.reasons)


def test_a_token_over_other_bytes_is_no_trusted_time(org: Org, tsa: Responder) -> None:
    """A genuine token from the TSA moved onto another signature does not cover it: the signature fails."""
    rec = sign_bytes(org.store, org.home, "alice", passphrase("alice"), b"plan", "authored", "doc:p", tsa="local")
    doc = detached(rec, identity(org.store, org.home, "alice").certificate)
    doc["timestamp"] = base64.b64encode(stamp(tsa, b"some other signature", "test")).decode()
    status = read_detached(doc, "p.sig.json").verify(b"plan", org.trust(), "p.sig.json")
    assert not status.ok and not status.time_trusted and any("does not cover" in r for r in status.reasons)


def test_sign_command_timestamps_a_detached_signature(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`qms sign FILE --tsa local` writes the token into FILE.sig.json; `qms verify-signature` shows the trusted time;
    without a TSA it says the time is not trusted."""
    runner = CliRunner()
    monkeypatch.setenv("QMS_CA_PASSPHRASE", "ca-passphrase-1")
    assert runner.invoke(app, ["ca", "issue-tsa"]).exit_code == 0
    target = project / "plan.txt"
    target.write_text("software development plan\n")
    signed = runner.invoke(app, ["sign", str(target), "--meaning", "authored", "--user", "alice", "--tsa", "local"],
                           input="alice-passphrase\n")
    assert signed.exit_code == 0, signed.output
    assert "timestamp" in json.loads((project / "plan.txt.sig.json").read_text())
    shown = runner.invoke(app, ["verify-signature", str(target)])
    assert shown.exit_code == 0 and "trusted time" in shown.output and UNTRUSTED not in shown.output
    report = json.loads(runner.invoke(app, ["verify-signature", str(target), "--json"]).stdout)
    assert report["time_trusted"] and report["timestamped_at"]
    other = project / "notes.txt"
    other.write_text("notes\n")
    assert runner.invoke(app, ["sign", str(other), "--meaning", "authored", "--user", "alice"],
                         input="alice-passphrase\n").exit_code == 0
    plain = runner.invoke(app, ["verify-signature", str(other)])
    assert plain.exit_code == 0 and UNTRUSTED in plain.output
