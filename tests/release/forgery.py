"""An attacker's own tooling: signatures made directly with a stolen or own key, past every check qmskit makes when signing.

The attacks of issue #14 hold a real key of the organisation (an engineer's, the CI service's)
and sign whatever statement they like with it; only verification can stop them.
"""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qms.hashing import canonical_json, sha256_hex
from qms.release import assembly
from qms.signing import keys
from qms.signing import manifest as mf
from qms.signing import sign as sg
from qms.signing.dsse import seal
from qms.signing.identity import identity
from qms.signing.meaning import Meaning
from tests.release.conftest import PASS, Built


def _unlocked(built: Built, user_id: str, meaning: str) -> sg.Unlocked:
    ident = identity(built.store, built.home, user_id)
    return sg.Unlocked(ident, keys.load_key(ident.key_path, PASS), Meaning.of(meaning), True, datetime.now(UTC))


def forged_signature(built: Built, user_id: str, data: bytes, meaning: str, object_ref: str) -> dict[str, Any]:
    """A detached signature file over `data` by `user_id`'s real key, with any meaning."""
    signer = _unlocked(built, user_id, meaning)
    body = sg.statement(signer, object_ref, sha256_hex(data), "bytes")
    env = seal(signer.key, signer.identity.certificate, sg.PAYLOAD_TYPE, canonical_json(body))
    return {"kind": sg.DETACHED_KIND, "object": object_ref, "envelope": env.to_json(),
            "certificate": keys.cert_pem(signer.identity.certificate)}


def resealed(built: Built, files: dict[str, bytes], user_id: str, meaning: str, out: Path) -> Path:
    """The bundle's files re-sealed: a manifest statement over them signed with `user_id`'s real key."""
    staged = out.with_suffix(".staged")
    for name, data in files.items():
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        (staged / name).write_bytes(data)
    signer = _unlocked(built, user_id, meaning)
    ident = signer.identity
    statement = {"_type": mf.STATEMENT_TYPE, "subject": mf.subjects(staged, sorted(files)), "predicateType": mf.PREDICATE_TYPE,
                 "predicate": {**mf.Provenance("d" * 40).to_json(), "object": "release:1.0.0:manifest",
                               "signer": {"user_id": ident.user_id, "name": ident.name, "role": "quality"},
                               "meaning": meaning, "reason": None, "signed_at": signer.signed_at_text, "interactive": True}}
    env = seal(signer.key, ident.certificate, mf.PAYLOAD_TYPE, canonical_json(statement))
    doc = {"kind": mf.MANIFEST_KIND, "envelope": env.to_json(), "certificate": keys.cert_pem(ident.certificate)}
    assembly.write_bundle(out, files, doc)
    return out


def members(path: Path) -> dict[str, bytes]:
    """A bundle's files, less the envelope and its copy (which a re-seal writes anew)."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n not in ("manifest.json", "manifest.dsse.json")}
