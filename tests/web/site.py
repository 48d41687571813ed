"""A served project for the web tests: the example project in git with one suspect link and one authored release.

Built once (rendering and signing a PDF takes seconds) and copied for each test that
changes it. Everything is synthetic: the example's design items, keys made here, a
document rendered from `qms.documents.sample`.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from qms.config import load_project
from qms.documents.build import attachments, document_data
from qms.documents.catalogue import DocumentKind
from qms.documents.render import DocumentHeader, Renderer
from qms.documents.sample import sample_evidence
from qms.hashing import canonical_json
from qms.release.assembly import folder_digests
from qms.release.service import release_dir
from qms.release_plan import ROLES, load_plan
from qms.release_steps import ReleaseStep
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


def _authored_release(tmp: Path, org_store: Store) -> None:
    """One document rendered, its roles declared, signed by the author, and the authored step recorded."""
    project = load_project(tmp / "proj")
    plan = load_plan(project)
    ev = sample_evidence()
    kind = DocumentKind.ANOMALIES
    doc = Renderer(DocumentHeader("Synthetic Triage", "Example Ltd", VERSION)).render(kind, document_data(kind, ev),
                                                                                    attachments(kind, ev))
    roles = [RoleSpec.of(ROLES[m], m, plan.allowed(m)) for m in ROLES]
    pdf = prepare_signature_fields(org_store, tmp / "home", doc.pdf, roles)
    pdf, _ = sign_pdf(org_store, tmp / "home", Signatory("demo.author", passphrase("demo.author")), pdf,
                      SignatureMeaning.AUTHORED, f"release:{VERSION}:{kind.value}", field="author")
    folder = release_dir(project, VERSION)
    (folder / "documents").mkdir(parents=True)
    (folder / "documents" / f"{kind.value}.pdf").write_bytes(pdf)
    org_store.add(ReleaseStep(version=VERSION, step="authored", actor="demo.author", commit="c" * 40, model=str(plan.model),
                              plan_digest="p", verdict_digest="v", documents=canonical_json(folder_digests(folder)).decode(),
                              soup="{}"))


def build_site(tmp: Path, url: str | None = None) -> Site:
    """The example project with its people enrolled (tests.release.demo_org's), its roster approved, on `url`."""
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
    _authored_release(tmp, store)
    store.dispose()
    return Site(tmp, url)
