"""What the release pages read: each release's steps, its signatures and declines, its documents' pages."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select

from qms import audit
from qms.errors import QmsError
from qms.release.decline import DECLINED
from qms.release_steps import ReleaseStep
from qms.signing.records import SignatureRecord
from qms.store import Store

__all__ = ["DOCUMENT_NAME", "Decline", "ReleaseSummary", "declines", "page_count", "page_png", "release_summaries", "signatures"]

DOCUMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")


@dataclass(frozen=True)
class ReleaseSummary:
    version: str
    model: str
    steps: tuple[ReleaseStep, ...]

    @property
    def state(self) -> str:
        return self.steps[-1].step


def release_summaries(store: Store) -> list[ReleaseSummary]:
    """Every release in the store with its steps, newest first."""
    with store.reader() as session:
        rows = list(session.exec(select(ReleaseStep).order_by(col(ReleaseStep.created_at), col(ReleaseStep.id))))
    by_version: dict[str, list[ReleaseStep]] = {}
    for row in rows:
        by_version.setdefault(row.version, []).append(row)
    return [ReleaseSummary(v, s[-1].model, tuple(s)) for v, s in reversed(by_version.items())]


def signatures(store: Store, version: str) -> list[SignatureRecord]:
    """The release's signatures (every document, every role), oldest first."""
    with store.reader() as session:
        return list(session.exec(select(SignatureRecord).where(col(SignatureRecord.object_ref).startswith(f"release:{version}:"))
                                 .order_by(col(SignatureRecord.signed_at))))


@dataclass(frozen=True)
class Decline:
    time: str
    user_id: str
    meaning: str
    reason: str


def declines(store: Store, version: str) -> list[Decline]:
    """Who declined to sign the release, as what, and why (from their audit events)."""
    found = []
    for event in audit.log(store, action=DECLINED, object_prefix=f"release:{version}"):
        if event.object == f"release:{version}":
            details = json.loads(event.details)
            found.append(Decline(event.time, event.actor, str(details.get("meaning")), str(details.get("reason"))))
    return found


def page_count(pdf: Path) -> int:
    """Pages of a PDF, as poppler's pdfinfo reads them (0 when it cannot)."""
    try:
        out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=False, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    found = re.search(r"^Pages:\s+(\d+)", out, re.MULTILINE)
    return int(found.group(1)) if found else 0


def page_png(pdf: Path, number: int, previews: Path) -> bytes:
    """One page as a PNG (poppler's pdftoppm), kept in `previews` (the server's own private folder) by the document's
    digest, so a newly signed revision is never shown from an older picture."""
    digest = hashlib.sha256(pdf.read_bytes()).hexdigest()
    target = previews / f"{digest}-{number}.png"
    if not target.exists():
        prefix = previews / f".{digest}-{number}-{threading.get_ident()}"
        try:
            subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", str(number), "-l", str(number), "-singlefile",
                            str(pdf), str(prefix)], capture_output=True, check=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            raise QmsError(f"cannot render page {number} of {pdf.name}", where=pdf.name,
                           hint="poppler's pdftoppm is installed by `make` (scripts/system-deps.sh)") from exc
        prefix.with_name(prefix.name + ".png").replace(target)
    return target.read_bytes()
