"""Signing any record's bytes (§11.50, §11.70, §11.200) and verifying it offline."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms import audit
from qms.hashing import sha256_hex
from qms.signing import (Meaning, SignatureMeaning, SignatureRecord, SigningError, Trust, WrongPassphrase, identity,
                         revoke, sign_bytes, verify_record)
from qms.signing.dsse import Envelope, pae
from qms.signing.keys import load_key
from qms.signing.sign import Unlocked, record_signature, verify_envelope
from tests.signing.orgkit import Org, passphrase

pytestmark = pytest.mark.verifies("QMS-REQ-003", "QMS-RC-004")

DOC = b"protocol: cxr-validation\nversion: 3\n"


def test_signature_records_name_id_time_meaning_and_hash(org: Org) -> None:
    """A signature records printed name, user id, UTC time, meaning and the sha256 of the bytes, in store and audit."""
    rec = sign_bytes(org.store, org.home, "carol", passphrase("carol"), DOC, "approved", "protocol:cxr@3")
    assert (rec.printed_name, rec.user_id, rec.meaning, rec.object_ref) == ("Carol Approver", "carol", "approved", "protocol:cxr@3")
    assert rec.sha256 == sha256_hex(DOC)
    assert rec.signed_at.endswith("Z") and rec.interactive
    event = audit.log(org.store, action="signature.apply")[-1]
    details = json.loads(event.details)
    assert event.object == "protocol:cxr@3" and event.after_digest == rec.sha256
    assert (details["name"], details["user_id"], details["meaning"], details["signed_at"]) == (
        "Carol Approver", "carol", "approved", rec.signed_at)
    status = verify_record(rec, DOC, org.trust())
    assert status.ok and status.signer == "Carol Approver" and status.meaning == "approved"


def test_stated_reason_is_a_meaning(org: Org) -> None:
    """A meaning other than authored, reviewed or approved is kept as the signer's stated reason."""
    rec = sign_bytes(org.store, org.home, "bob", passphrase("bob"), DOC, "verified the SOUP list", "soup:1")
    assert rec.meaning == "stated" and rec.reason == "verified the SOUP list"
    assert verify_record(rec, DOC, org.trust()).meaning == "verified the SOUP list"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0, max_value=len(DOC) - 1), flip=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_is_detected(org: Org, position: int, flip: int) -> None:
    """Changing any one byte of the signed data makes the signature not intact."""
    rec = sign_bytes(org.store, org.home, "alice", passphrase("alice"), DOC, "authored", "doc:a")
    changed = bytearray(DOC)
    changed[position] ^= flip
    status = verify_record(rec, bytes(changed), org.trust())
    assert not status.intact and not status.ok
    assert any("differ" in r for r in status.reasons)


def test_signature_moved_to_another_document_fails(org: Org) -> None:
    """A signature presented with another document, or for another record, does not verify."""
    rec = sign_bytes(org.store, org.home, "alice", passphrase("alice"), DOC, "authored", "doc:a")
    other = b"a different protocol\n"
    assert not verify_record(rec, other, org.trust()).intact
    env = Envelope.from_text(rec.envelope, "t")
    moved = verify_envelope(env, DOC, org.trust(), expected_object="doc:b")
    assert not moved.intact and any("not of 'doc:b'" in r for r in moved.reasons)


def test_altered_meaning_in_the_envelope_breaks_the_signature(org: Org) -> None:
    """Rewriting the statement (here: authored into approved) makes the signature value fail."""
    rec = sign_bytes(org.store, org.home, "alice", passphrase("alice"), DOC, "authored", "doc:a")
    env = Envelope.from_text(rec.envelope, "t")
    body = json.loads(env.payload)
    body["meaning"] = "approved"
    forged = Envelope(env.payload_type, json.dumps(body).encode(), env.keyid, env.sig)
    status = verify_envelope(forged, DOC, org.trust())
    assert not status.intact and not status.valid


def test_wrong_passphrase_signs_nothing_and_is_audited(org: Org) -> None:
    """A wrong passphrase raises, stores no signature, and appends a signature.refused audit event (§11.300(d))."""
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        sign_bytes(org.store, org.home, "alice", "not-my-passphrase", DOC, "authored", "doc:a")
    assert org.store.all(SignatureRecord) == []
    assert [e.object for e in audit.log(org.store, action="signature.refused")] == ["user:alice"]
    assert not audit.log(org.store, action="signature.apply")


def test_corrupted_key_file_is_a_clear_error(org: Org) -> None:
    """A damaged key file is reported as damaged (not as a wrong passphrase), and nothing is signed."""
    path = identity(org.store, org.home, "alice").key_path
    data = bytearray(path.read_bytes())
    data[120:160] = b"A" * 40
    path.write_bytes(bytes(data))
    with pytest.raises(SigningError, match="damaged") as err:
        sign_bytes(org.store, org.home, "alice", passphrase("alice"), DOC, "authored", "doc:a")
    assert not isinstance(err.value, WrongPassphrase)
    path.write_bytes(b"not a key at all")
    with pytest.raises(SigningError, match="damaged"):
        sign_bytes(org.store, org.home, "alice", passphrase("alice"), DOC, "authored", "doc:a")
    assert org.store.all(SignatureRecord) == []


def test_key_not_matching_certificate_is_refused(org: Org) -> None:
    """A key file that is not the certificate's key (swapped with another user's) is refused."""
    alice = identity(org.store, org.home, "alice").key_path
    bob = identity(org.store, org.home, "bob").key_path
    alice.write_bytes(bob.read_bytes())
    with pytest.raises(SigningError, match="does not match"):
        sign_bytes(org.store, org.home, "alice", passphrase("bob"), DOC, "authored", "doc:a")
    assert org.store.all(SignatureRecord) == []


def test_role_limits_meanings_and_service_never_approves(org: Org) -> None:
    """An engineer cannot approve; the CI service identity cannot approve or review (§11.10(g), §11.100(a))."""
    with pytest.raises(SigningError, match="may not sign"):
        sign_bytes(org.store, org.home, "alice", passphrase("alice"), DOC, "approved", "doc:a")
    for meaning in ("approved", "reviewed"):
        with pytest.raises(SigningError, match="may not sign"):
            sign_bytes(org.store, org.home, "ci", passphrase("ci"), DOC, meaning, "doc:a", non_interactive=True)


def test_only_a_service_identity_signs_non_interactively(org: Org) -> None:
    """A person cannot sign non-interactively; the service identity's signatures say they were non-interactive."""
    with pytest.raises(SigningError, match="only a service identity"):
        sign_bytes(org.store, org.home, "bob", passphrase("bob"), DOC, "reviewed", "doc:a", non_interactive=True)
    rec = sign_bytes(org.store, org.home, "ci", passphrase("ci"), DOC, "authored", "build:1", non_interactive=True)
    status = verify_record(rec, DOC, org.trust())
    assert status.ok and status.interactive is False and rec.interactive is False


def _forge_later(org: Org, user_id: str, at: dt.datetime) -> SignatureRecord:
    """What a holder of a withdrawn key could make: a correct signature claiming a later time."""
    ident = identity(org.store, org.home, user_id)
    key = load_key(ident.key_path, passphrase(user_id))
    return record_signature(org.store, Unlocked(ident, key, Meaning(SignatureMeaning.REVIEWED), True, at), "doc:late",
                            sha256_hex(DOC), "bytes")


def test_signature_after_revocation_does_not_verify(org: Org) -> None:
    """A signature dated after its certificate's revocation is reported not valid, naming the revocation."""
    revoke(org.store, "bob", "key compromised", actor="admin")
    late = _forge_later(org, "bob", dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    status = verify_record(late, DOC, org.trust())
    assert status.intact and not status.valid and not status.ok
    assert any("revoked" in r and "key compromised" in r for r in status.reasons)


def test_signature_after_expiry_does_not_verify(org: Org) -> None:
    """A signature dated after its certificate expired is not valid; signing with an expired certificate is refused."""
    not_after = identity(org.store, org.home, "bob").certificate.not_valid_after_utc
    late = _forge_later(org, "bob", not_after + dt.timedelta(days=1))
    status = verify_record(late, DOC, org.trust())
    assert not status.valid and any("expired" in r for r in status.reasons)
    with pytest.raises(SigningError, match="not valid now"):
        sign_bytes(org.store, org.home, "bob", passphrase("bob"), DOC, "reviewed", "doc:a",
                   now=not_after + dt.timedelta(days=1))


def test_unknown_user_is_a_clear_error(org: Org) -> None:
    """Signing as a user who is not enrolled names the user and how to enrol."""
    with pytest.raises(SigningError, match="no user zed") as err:
        sign_bytes(org.store, org.home, "zed", "whatever-pass", DOC, "authored", "doc:a")
    assert "qms user add" in (err.value.hint or "")


def test_pae_matches_the_dsse_specification() -> None:
    """PAE encodes type and body with their lengths, as in the DSSE v1 specification's example."""
    assert pae("http://example.com/HelloWorld", b"hello world") == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


def test_envelope_round_trips_and_rejects_garbage() -> None:
    """An envelope survives its JSON form; malformed JSON or base64 is a clear error."""
    env = Envelope("t/x", b"{}", "ab" * 32, b"\x01\x02")
    assert Envelope.from_text(env.to_text(), "t") == env
    with pytest.raises(SigningError, match="not a DSSE envelope"):
        Envelope.from_text("{not json", "sig.json")
    bad = env.to_json() | {"payload": "%%%"}
    with pytest.raises(SigningError, match="not a DSSE envelope"):
        Envelope.from_json(bad, "sig.json")
    assert base64.b64decode(env.to_json()["payload"]) == b"{}"


def test_revocation_list_travels_with_the_artefacts(org: Org) -> None:
    """A revocation list exported from the store lets a verifier without the store reject a post-revocation signature."""
    revoke(org.store, "bob", "key compromised", actor="admin")
    late = _forge_later(org, "bob", dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    shipped = json.loads(json.dumps(org.trust().revocation_list()))
    offline = Trust.from_revocation_list(org.trust().anchors, shipped, "revocations.json")
    env = Envelope.from_text(late.envelope, "t")
    status = verify_envelope(env, DOC, offline, certificate=identity(org.store, org.home, "bob").certificate)
    assert status.intact and status.trusted and not status.valid
    with pytest.raises(SigningError, match="malformed revocation list"):
        Trust.from_revocation_list((), [{"certificate": "x"}], "revocations.json")
