"""The audit record of a `qms deid verify` run: counts by check and by place, never a value or a file name.

Verification is evidence that a de-identified folder is fit to use, so its outcome is kept
in the audit trail beside the batches it checked (named by their ids and by the digest of
the folder's manifest, the digest their `deid.batch` event records), where the web
application and an auditor find it; the command's output alone would be lost.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from qms.audit import EventSpec, record, state_digest
from qms.deid.manifest import read_head, read_legacy
from qms.deid.verify import VerifyReport
from qms.hashing import canonical_json, sha256_hex
from qms.store import Store

__all__ = ["VERIFY_ACTION", "record_verification", "verification_details"]

VERIFY_ACTION = "deid.verify"


def verification_details(out_dir: Path, report: VerifyReport) -> dict[str, Any]:
    """What the event keeps: the outcome, counts by check and by place (a tag or part), the batches checked."""
    head = read_head(out_dir)
    legacy = read_legacy(out_dir) if head is None else None
    batches = head.batches if head is not None else legacy["batches"] if legacy is not None else ()
    digest = head.sha256 if head is not None else sha256_hex(canonical_json(legacy)) if legacy is not None else None
    return {
        "clean": report.clean, "files_checked": report.files_checked, "unpaired": len(report.unpaired),
        "leaks": len(report.leaks), "pixel_text": report.pixel_text,
        "by_check": dict(sorted(Counter(str(leak.check) for leak in report.leaks).items())),
        "by_place": dict(sorted(Counter(str(leak.where or "-") for leak in report.leaks).items())),
        "batches": [str(b.get("batch_id")) for b in batches],
        "manifest_sha256": digest,
    }


def record_verification(store: Store, actor: str, out_dir: Path, report: VerifyReport) -> dict[str, Any]:
    """Append the `deid.verify` event of one run; returns its details."""
    details = verification_details(out_dir, report)
    subject = (details["manifest_sha256"] or "no-manifest")[:16]
    record(store, EventSpec(actor, VERIFY_ACTION, f"deid-verify:{subject}", after=state_digest(details),
                            details=details))
    return details
