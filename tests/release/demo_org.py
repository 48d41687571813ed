"""A copy of the example project with its signers enrolled and its signing roster approved (synthetic keys, made here)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from qms import checkpoint_log
from qms.config import Project, load_project
from qms.release_plan import ReleasePlan, load_plan
from qms.signing import Role, add_user, init_ca
from qms.signing.authority import approve_roster
from qms.signing.roster import load_roster
from qms.signing.signatory import Signatory
from qms.store import Store, open_store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage"
CA_PASS = "ca passphrase 123"
PEOPLE = {"demo.author": Role.ENGINEER, "demo.reviewer": Role.QUALITY, "demo.approver": Role.REGULATORY,
          "ci.release": Role.SERVICE}


def passphrase(user_id: str) -> str:
    return f"{user_id}-passphrase"


@dataclass
class DemoOrg:
    root: Path
    store: Store
    home: Path

    @property
    def project(self) -> Project:
        return load_project(self.root)

    def plan(self) -> ReleasePlan:
        return load_plan(self.project)

    def approve_roster(self) -> None:
        roster = load_roster(self.project.path(self.plan().roster_file))
        approve_roster(self.store, self.home, Signatory("demo.reviewer", passphrase("demo.reviewer")), roster)


def demo_org(tmp: Path) -> DemoOrg:
    root = tmp / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qms", "out", "data", "__pycache__", "model"))
    store = open_store(f"sqlite:///{tmp / 'qms.db'}")
    home = tmp / "home"
    checkpoint_log.attach(store, home, load_project(root).records_dir)  # as the CLI opens a project's store
    init_ca(home, "Example Ltd", CA_PASS)
    for uid, role in PEOPLE.items():
        add_user(store, home, uid, uid.title(), role, passphrase(uid), CA_PASS, actor="admin")
    org = DemoOrg(root, store, home)
    org.approve_roster()
    return org
