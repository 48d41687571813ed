"""Signed manifests: an in-toto Statement v1 in a DSSE envelope over every artefact."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from qms.hashing import sha256_hex
from qms.signing import SigningError
from qms.signing.manifest import Provenance, sign_manifest, verify_manifest
from tests.signing.orgkit import Org, passphrase

PROV = Provenance("0123abcd" * 5, model={"cxr-triage@1.0": "a" * 64}, dataset={"test-set": "b" * 64},
                  protocols={"cxr-validation": "c" * 64}, test_runs=("run-41", "run-42"))


def _bundle(tmp_path: Path) -> Path:
    root = tmp_path / "bundle"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "test-report.pdf").write_bytes(b"%PDF-1.7 synthetic")
    (root / "soup.json").write_text('{"soup": []}\n')
    return root


def _signed(org: Org, root: Path) -> dict[str, Any]:
    doc, _ = sign_manifest(org.store, org.home, "ci", passphrase("ci"), root, ["docs/test-report.pdf", "soup.json"],
                           PROV, "authored", "release:1.0", non_interactive=True)
    return doc


def test_manifest_is_an_in_toto_statement_with_provenance(org: Org, tmp_path: Path) -> None:
    """The envelope carries an in-toto v1 statement listing each file's sha256 and the commit, model, data, protocol, runs."""
    root = _bundle(tmp_path)
    doc = _signed(org, root)
    env = doc["envelope"]
    assert env["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(env["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [
        {"name": "docs/test-report.pdf", "digest": {"sha256": sha256_hex(b"%PDF-1.7 synthetic")}},
        {"name": "soup.json", "digest": {"sha256": sha256_hex(b'{"soup": []}\n')}}]
    pred = statement["predicate"]
    assert pred["git_commit"] == PROV.git_commit and pred["test_runs"] == ["run-41", "run-42"]
    assert pred["model"] == {"cxr-triage@1.0": "a" * 64} and pred["signer"]["name"] == "CI pipeline"
    report = verify_manifest(doc, root, org.trust())
    assert report.ok and report.files == 2 and report.signature.interactive is False


@pytest.mark.parametrize("change", ["missing", "added", "changed"])
def test_manifest_names_files_missing_added_or_changed(org: Org, tmp_path: Path, change: str) -> None:
    """A listed file removed, an unlisted file added, or a listed file changed fails the manifest and is named."""
    root = _bundle(tmp_path)
    doc = _signed(org, root)
    if change == "missing":
        (root / "soup.json").unlink()
    elif change == "added":
        (root / "docs" / "extra.txt").write_text("not listed")
    else:
        (root / "soup.json").write_text('{"soup": ["x"]}\n')
    report = verify_manifest(doc, root, org.trust())
    assert not report.ok and report.signature.ok
    expected = {"missing": ("soup.json",), "added": ("docs/extra.txt",), "changed": ("soup.json",)}[change]
    assert getattr(report, change) == expected


def test_tampered_manifest_statement_fails(org: Org, tmp_path: Path) -> None:
    """Editing the signed statement (a subject's hash) breaks the manifest's signature."""
    root = _bundle(tmp_path)
    doc = _signed(org, root)
    statement = json.loads(base64.b64decode(doc["envelope"]["payload"]))
    statement["subject"][1]["digest"]["sha256"] = "0" * 64
    doc["envelope"]["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    report = verify_manifest(doc, root, org.trust())
    assert not report.signature.intact and not report.ok


def test_manifest_refuses_bad_input(org: Org, tmp_path: Path) -> None:
    """A listed file that does not exist, or a malformed hash in the provenance, is refused before signing."""
    root = _bundle(tmp_path)
    with pytest.raises(SigningError, match="does not exist"):
        sign_manifest(org.store, org.home, "ci", passphrase("ci"), root, ["nope.txt"], PROV, "authored", "r:1",
                      non_interactive=True)
    with pytest.raises(SigningError, match="not a sha256"):
        Provenance("0123abcd", model={"m": "xyz"})
    with pytest.raises(SigningError, match="not a git commit"):
        Provenance("HEAD")
    with pytest.raises(SigningError, match="not a qms-signed-manifest"):
        verify_manifest({"kind": "other"}, root, org.trust())
