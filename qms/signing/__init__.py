"""Identities and 21 CFR Part 11 electronic signatures.

The calls other capabilities make:

    from qms.signing import sign_bytes, verify_record, Trust

    rec = sign_bytes(store, identity_dir, user_id, passphrase, data, "approved", "protocol:cxr-val@3")
    # rec: SignatureRecord, already stored with its audit event ("signature.apply");
    # rec.sha256 is the digest of `data`, rec.envelope the DSSE envelope.
    status = verify_record(rec, data, Trust.from_store(store, identity_dir))
    status.ok, status.intact, status.valid, status.trusted, status.reasons   # never a bare bool

PDFs (`qms.signing.pdf`, which loads pyHanko): `prepare_signature_fields(store,
identity_dir, pdf, roles)` declares the roles before anyone signs; `sign_pdf(store,
identity_dir, Signatory(user_id, passphrase), pdf, meaning, object_ref)` adds one
incremental PAdES signature; `verify_pdf(pdf, trust)` checks every signature and
that every declared role is signed. Manifests (`qms.signing.manifest`):
`sign_manifest(...)` writes an in-toto Statement v1 in a DSSE envelope;
`verify_manifest(...)` checks it and every listed file. For verification away from the
store, ship `trust.revocation_list()` and rebuild with `Trust.from_revocation_list`. `identity_dir` is the user's QMS_HOME (the CLI passes
`qms.cli.context.qms_home()`); errors are `SigningError` (a QmsError, exit 2).

Trusted time and revocation: `qms.signing.tsa` is the organisation's RFC 3161 TSA (issued
by the CA; in-process with `tsa="local"`, over HTTP with `qms tsa serve`); `sign_pdf` and
`sign_manifest` take `tsa=` and embed its token (`qms.signing.timestamp` checks it). A
signature's own time is only claimed: with no verified timestamp, a certificate revoked
at any time fails (a rotation's supersession is judged by the claimed time), and a valid
one carries the warning "time not trusted" (an error under `Trust(require_trusted_time=True)`,
the policy of a release signed with a TSA). `qms.signing.crl` signs the store's revocations
as a CRL for verifiers without the store; PDFs embed it in their DSS (PAdES B-LT).

Authority and attribution: `qms.signing.roster` is who may sign which document in which role
(person or service identities); `qms.signing.authority` approves a roster (a quality person
whose certificate states the quality role) and checks an approval offline. Wrong passphrases
lock an identity (`qms.signing.lockout`, counted from the audit trail); `qms.signing.session`
unlocks an identity once for a session, so the CLI names an authenticated actor.
"""

from qms.signing.errors import SigningError, WrongPassphrase
from qms.signing.identity import Identity, add_user, identity, import_ca, import_user, init_ca, list_users, revoke, rotate_key
from qms.signing.meaning import Meaning, Role, SignatureMeaning
from qms.signing.records import SignatureRecord, SigningCertificate, SigningRevocation, SigningUser
from qms.signing.signatory import Signatory
from qms.signing.sign import detached, read_detached, sign_bytes, verify_envelope, verify_record
from qms.signing.status import SignatureStatus
from qms.signing.trust import Trust

__all__ = [
    "Identity", "Meaning", "Role", "SignatureMeaning", "SignatureRecord", "SignatureStatus", "Signatory", "SigningCertificate",
    "SigningError", "SigningRevocation", "SigningUser", "Trust", "WrongPassphrase", "add_user", "detached", "identity",
    "import_ca", "import_user", "init_ca", "list_users", "read_detached", "revoke", "rotate_key", "sign_bytes",
    "verify_envelope", "verify_record",
]
