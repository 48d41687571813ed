"""A served project for the web tests: the example project in git with one suspect link and one authored release.

Built once (rendering and signing a PDF takes seconds) and copied for each test that
changes it. Everything is synthetic: the example's design items, keys made here, a
document rendered from `qms.documents.sample`. `build_releasable_site` adds what an
approval needs to complete the release (a staged model, the plan's protocol locked), so the
approver's signature in the browser bundles it and promotes the model, as `qms release sign` does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qms import audit, checkpoint, checkpoint_log
from qms.config import load_project
from qms.documents.build import attachments, document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.render import DocumentHeader, Renderer
from qms.documents.sample import sample_evidence
from qms.gate import verify
from qms.hashing import canonical_json, digest_of
from qms.release.assembly import folder_digests
from qms.release.service import release_dir
from qms.release_plan import ROLES, load_plan
from qms.release_steps import ReleaseStep, step_event
from qms.signing import add_user, init_ca
from qms.signing.authority import approve_roster
from qms.signing.meaning import SignatureMeaning
from qms.signing.pdf import RoleSpec, prepare_signature_fields, sign_pdf
from qms.signing.roster import load_roster
from qms.signing.signatory import Signatory
from qms.signing.tsa import issue_tsa
from qms.store import Store, open_store
from qms.web import WebSettings
from tests.release.demo_org import CA_PASS, EXAMPLE, PEOPLE, passphrase

VERSION = "1.0.0"
SUSPECT_CHILD, SUSPECT_PARENT = "REQ-001", "NEED-002"
CHANGED_WORDS = "and say clearly, in plain words,"


@dataclass
class Site:
    """Where the served project lives; `url` is its SQLite store."""

    tmp: Path
    url: str

    @property
    def root(self) -> Path:
        return self.tmp / "proj"

    @property
    def home(self) -> Path:
        return self.tmp / "home"

    def settings(self, clock: Clock | None = None) -> WebSettings:
        return WebSettings.for_project(self.root, self.url, self.home, clock=clock or Clock())

    def copy(self, tmp: Path) -> Site:
        """A copy to change (a SQLite site only: its store is a file in the folder)."""
        shutil.copytree(self.tmp, tmp, dirs_exist_ok=True)
        return Site(tmp, f"sqlite:///{tmp / 'qms.db'}")


class Clock:
    """A settable clock for the idle timeout: tests move time instead of waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=Web Test", "-c", "user.email=web@example.invalid", *args], cwd=root,
                   check=True, capture_output=True)


def _suspect_link(root: Path) -> None:
    """Commit the project, then change NEED-002's text in a second commit: REQ-001's link to it is suspect."""
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "the example project")
    needs = root / "design" / "needs.yaml"
    text = needs.read_text()
    assert "and say clearly" in text
    needs.write_text(text.replace("and say clearly", CHANGED_WORDS, 1))
    _git(root, "commit", "-q", "-am", "NEED-002: plainer words")


def _authored_release(tmp: Path, org_store: Store, kinds: tuple[DocumentKind, ...]) -> None:
    """The documents rendered, their roles declared, signed by the author, and the authored step recorded."""
    project = load_project(tmp / "proj")
    plan = load_plan(project)
    ev = sample_evidence()
    renderer = Renderer(DocumentHeader("Synthetic Triage", "Example Ltd", VERSION))
    roles = [RoleSpec.of(ROLES[m], m, plan.allowed(m)) for m in ROLES]
    folder = release_dir(project, VERSION)
    (folder / "documents").mkdir(parents=True)
    for kind in kinds:
        doc = renderer.render(kind, document_data(kind, ev), attachments(kind, ev))
        pdf = prepare_signature_fields(org_store, tmp / "home", doc.pdf, roles)
        pdf, _ = sign_pdf(org_store, tmp / "home", Signatory("demo.author", passphrase("demo.author")), pdf,
                          SignatureMeaning.AUTHORED, f"release:{VERSION}:{kind.value}", field="author")
        (folder / "documents" / f"{kind.value}.pdf").write_bytes(pdf)
    # as `qms release` does after each signature: a signed checkpoint covers it (the gate's audit criterion asks)
    checkpoint_log.seal(org_store, tmp / "home" / checkpoint.KEY_FILE, project.records_dir / checkpoint_log.LOG_FILE)
    verdict = verify(project, org_store, tmp / "home").to_json()  # the gate at authoring, as `qms release` records it
    (folder / "data").mkdir()  # the evidence the signed manifest's provenance reads: no test run is claimed here
    (folder / "data" / "evidence.json").write_text(json.dumps({"tests": [], "verdict": verdict}))
    row = ReleaseStep(version=VERSION, step="authored", actor="demo.author", commit="c" * 40, model=str(plan.model),
                      plan_digest="p", verdict_digest=digest_of(verdict),
                      documents=canonical_json(folder_digests(folder)).decode(), soup="{}")
    with org_store.transaction() as session:  # with its audit event, as `qms release` records it
        session.add(row)
        session.flush()
        audit.append(session, step_event(row, "demo.author"))


def build_site(tmp: Path, url: str | None = None, kinds: tuple[DocumentKind, ...] = (DocumentKind.ANOMALIES,)) -> Site:
    """The example project with its people enrolled (tests.release.demo_org's), its roster approved, on `url`; its
    release authored with the documents `kinds` (one by default: rendering each takes seconds)."""
    root = tmp / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qms", "out", "data", "__pycache__", "model"))
    url = url or f"sqlite:///{tmp / 'qms.db'}"
    store = open_store(url)
    home = tmp / "home"
    init_ca(home, "Example Ltd", CA_PASS)
    issue_tsa(home, CA_PASS)  # the example signs with its organisation's time-stamping authority (tsa = "local")
    for uid, role in PEOPLE.items():
        add_user(store, home, uid, uid.replace(".", " ").title(), role, passphrase(uid), CA_PASS, actor="admin")
    project = load_project(root)
    roster = load_roster(project.path(load_plan(project).roster_file))
    approve_roster(store, home, Signatory("demo.reviewer", passphrase("demo.reviewer")), roster)
    _suspect_link(root)
    _authored_release(tmp, store, kinds)
    store.dispose()
    return Site(tmp, url)


def build_releasable_site(tmp: Path) -> Site:
    """`build_site`, plus the plan's model registered and staged and its one protocol locked (synthetic data, toy model).

    The plan names a synthetic protocol (tests.validation's) instead of the example's two,
    whose datasets are not generated here; the model is tests.models' tiny ViT, registered as
    the plan's model version.
    """
    from qms.models import registry
    from qms.models.stages import Stage, change_stage
    from qms.validation.protocolparser import read_protocol
    from qms.validation.lock import lock  # noqa: I001 - after the parser: importing lock first meets validation's import cycle
    from qms.validation.inputs import inputs_for
    from tests.models.helpers import vit_folder
    from tests.validation.synthetic import PROTOCOL, make_project, toy_identity

    site = build_site(tmp, kinds=tuple(DocumentKind))  # the bundle carries every document the plan requires
    plan_file = site.root / "release-plan.yaml"
    text = plan_file.read_text()
    plan_file.write_text(text.replace("protocols:\n  - VAL-PERF-001\n  - VAL-BIAS-001\n", "protocols:\n  - VAL-T\n"))
    store = open_store(site.url, create=False)
    model = load_plan(load_project(site.root)).model_ref
    name, version = model.split("@")
    registry.register(store, vit_folder(site.root / "models" / name), name=name, version=version, actor="demo.author",
                      root=site.root)
    change_stage(store, model, Stage.STAGING, actor="demo.author", reason="release candidate")
    validation = tmp / "validation"
    protocol = make_project(validation, 30, protocol=PROTOCOL.replace("ref: toy@1.0.0", f"ref: {model}"))
    lock(store, inputs_for(read_protocol(protocol), validation, toy_identity(validation)), "demo.author")
    # sealed as `qms model register` and `qms protocol lock` seal when they end: the gate requires evidence witnessed
    checkpoint_log.seal(store, site.home / checkpoint.KEY_FILE, load_project(site.root).records_dir / checkpoint_log.LOG_FILE)
    store.dispose()
    _git(site.root, "add", "-A")
    _git(site.root, "commit", "-q", "-m", "release candidate: the model and the plan's protocol")
    return site
