"""A signed bundle built from real parts: a CA, three signers, a rendered PDF signed in every role."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from qms import checkpoint
from qms.documents.build import attachments, document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.render import DocumentHeader, Renderer
from qms.documents.sample import sample_evidence
from qms.release import assembly, bundle
from qms.signing import Role, add_user, init_ca
from qms.signing.authority import approval_document, approve_roster
from qms.signing.manifest import Provenance, sign_manifest
from qms.signing.pdf import RoleSpec, Signatory, prepare_signature_fields, sign_pdf
from qms.signing.roster import Roster
from qms.signing.tsa import issue_tsa
from qms.store import Store, open_store

PASS = "correct horse battery"
SIGNERS = {"author": ("ann.author", Role.ENGINEER, "authored"), "reviewer": ("rob.reviewer", Role.ENGINEER, "reviewed"),
           "approver": ("ada.approver", Role.QUALITY, "approved")}
SERVICE = "ci.release"  # a CI service identity: on the roster to seal, never to review or approve
ROSTER = {"ann.author": {"kind": "person", "roles": ["author"]}, "rob.reviewer": {"kind": "person", "roles": ["reviewer"]},
          "ada.approver": {"kind": "person", "roles": ["approver", "quality", "seal"]},
          SERVICE: {"kind": "service", "roles": ["seal"]}}


@dataclass
class Built:
    path: Path
    anchors: tuple[x509.Certificate, ...]
    files: dict[str, bytes]
    envelope: dict[str, object]
    store: Store
    home: Path


CA_PASS = "ca passphrase 123"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("bundle"))


def build(tmp: Path, tsa: str | None = None, signers: dict[str, tuple[str, Role, str]] | None = None,
          roster: dict[str, dict[str, object]] | None = None, distinct_people: bool = True,
          model: dict[str, str] | None = None) -> Built:
    """The bundle; with `tsa` ("local": an organisation TSA is issued first) every signature is timestamped.

    `signers` (role -> user id, role, meaning) and `roster` replace SIGNERS and ROSTER; the roster is
    approved by ada.approver (quality), and the bundle carries it with the release plan.
    `model` (ref -> digest) is the model the signed manifest names.
    """
    signers = signers or SIGNERS
    home = tmp / "home"
    store = open_store(f"sqlite:///{tmp / 'qms.db'}")
    ca = init_ca(home, "Example Ltd", CA_PASS)
    if tsa == "local":
        issue_tsa(home, CA_PASS)
    for uid, role in {**{u: r for u, r, _ in SIGNERS.values()}, SERVICE: Role.SERVICE}.items():
        add_user(store, home, uid, uid.replace(".", " ").title(), role, PASS, CA_PASS, actor="admin")
    approved = Roster.from_json({"identities": roster or ROSTER}, "roster")
    approval = approve_roster(store, home, Signatory("ada.approver", PASS), approved)
    ev = sample_evidence()
    kind = DocumentKind.ANOMALIES
    doc = Renderer(DocumentHeader("Synthetic Triage", "Example Ltd", "1.0.0")).render(kind, document_data(kind, ev),
                                                                                     attachments(kind, ev))
    roles = [RoleSpec.of(field, meaning, [uid]) for field, (uid, _, meaning) in signers.items()]
    pdf = prepare_signature_fields(store, home, doc.pdf, roles)
    for field, (uid, _, meaning) in signers.items():
        pdf, _ = sign_pdf(store, home, Signatory(uid, PASS), pdf, meaning, "release:1.0.0:anomaly-list", field=field, tsa=tsa)
    key = checkpoint.load_or_create_key(home / "checkpoint-key.pem")
    release = {f: [u] for f, (u, _, _) in signers.items()}
    plan = {"kind": "qms-release-plan/v1", "commit": "d" * 40, "version": "1.0.0", "signatures": release,
            "safety_class": "B", "distinct_people": distinct_people, "documents": [kind.value]}
    files = {"documents/anomaly-list.pdf": pdf, "documents/anomaly-list.html": doc.html.encode(),
             "data/anomalies.json": attachments(kind, ev)[0].data,
             "certs/ca-1.pem": ca.public_bytes(serialization.Encoding.PEM),
             bundle.RELEASE: assembly.release_json("1.0.0", release, store.store_id, key.public_key(),
                                                   {"trusted_time": True} if tsa else {}),
             bundle.CHECKPOINT: json.dumps(checkpoint.create(store, key).to_json()).encode(),
             bundle.ROSTER: approved.canonical(), bundle.ROSTER_APPROVAL: json.dumps(approval_document(store, home, approval)).encode(),
             bundle.PLAN: json.dumps(plan).encode()}
    staged = tmp / "staged"
    for name, data in files.items():
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        (staged / name).write_bytes(data)
    doc, _ = sign_manifest(store, home, signers["approver"][0], PASS, staged, sorted(files), Provenance("d" * 40, model or {}),
                           "approved", "release:1.0.0:manifest", tsa=tsa)
    path = tmp / "bundle.zip"
    assembly.write_bundle(path, files, doc)
    return Built(path, (ca,), files, doc, store, home)
