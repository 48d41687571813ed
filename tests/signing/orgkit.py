"""Test helpers: an organisation with a CA, three people and a CI service identity; PDF/A rendering.

All keys, names and documents are synthetic, made here; nothing comes from outside.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from weasyprint import HTML

from qms.signing import Role, Trust, add_user, init_ca
from qms.store import Store

CA_PASS = "ca-passphrase-1"
PEOPLE = {
    "alice": ("Alice Author", Role.ENGINEER),
    "bob": ("Bob Reviewer", Role.QUALITY),
    "carol": ("Carol Approver", Role.REGULATORY),
    "ci": ("CI pipeline", Role.SERVICE),
}


def passphrase(user_id: str) -> str:
    return f"{user_id}-passphrase"


@dataclass
class Org:
    store: Store
    home: Path

    def trust(self) -> Trust:
        return Trust.from_store(self.store, self.home)


def make_org(store: Store, home: Path) -> Org:
    init_ca(home, "Example Devices Ltd", CA_PASS)
    for uid, (name, role) in PEOPLE.items():
        add_user(store, home, uid, name, role, passphrase(uid), CA_PASS, actor="admin")
    return Org(store, home)


def render_pdfa(html: str) -> bytes:
    out = io.BytesIO()
    HTML(string=html).write_pdf(out, pdf_variant="pdf/a-3b")
    return out.getvalue()
