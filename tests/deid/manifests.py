"""Reading and rewriting OUT's de-identification manifest in tests (either schema, `qms.deid.manifest`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qms.deid.manifest import LEGACY_MANIFEST, LEGACY_SCHEMA, MANIFEST, read_document


def manifest_of(out: Path) -> dict[str, Any]:
    """OUT's manifest as one document (files, quarantined, batches, actions, patients)."""
    document = read_document(out)
    assert document is not None, f"no manifest in {out}"
    return document


def write_legacy(out: Path, document: dict[str, Any]) -> None:
    """Replace OUT's manifest by a schema-1 document (one JSON file), as versions before issue 17 wrote it."""
    legacy = {k: v for k, v in document.items() if k not in ("sha256", "file", "migrated_from")}
    legacy["schema"] = LEGACY_SCHEMA
    (out / MANIFEST).unlink(missing_ok=True)
    (out / LEGACY_MANIFEST).write_text(json.dumps(legacy, indent=1, sort_keys=True) + "\n", encoding="utf-8")
