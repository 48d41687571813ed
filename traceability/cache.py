"""The trace report cache: the whole report, kept under a key of everything it is made of.

The key is a digest of: this file format, the code (every source file of the package,
`qms.hashing`, the versions of qmskit, PyYAML and Python), the project (root, design
folder, whole configuration), the digest of every design file as it was parsed, HEAD, and
the test results' key (store identity, the device's run count and newest run, HEAD).
Reviews live in the item files (`qms trace review` rewrites the child's file), so they
change the key through the file digests. The current tree's dirtiness is not in the key
because the report does not depend on it: a result is evidence only if its own run was
clean, and that is recorded with the run.

The file is MAGIC, the key, the report as plain data in `marshal` form
(`qms.traceability.plainreport`), and the tag of all that before it (`qms.traceability.cachetag`:
an HMAC under QMS_HOME's evidence cache key where the caller passes it, as `qms verify` does): a
truncated, damaged or forged file fails its tag and is ignored, and plain data cannot name a
class or run code when read (a pickle could).
"""

from __future__ import annotations

import marshal
from pathlib import Path

from qms.atomic import atomic_writer
from qms.config import Project
from qms.hashing import digest_of
from qms.traceability.cachetag import tag, untagged
from qms.traceability.codedigest import code_digest
from qms.traceability.plainreport import from_plain, to_plain
from qms.traceability.report import TraceReport

__all__ = ["REPORT_NAME", "read_report", "report_key", "write_report"]

REPORT_NAME = "trace-report.bin"
_MAGIC = b"qms-trace-report 2\n"
_MARSHAL_VERSION = 4


def report_key(project: Project, sources: tuple[tuple[str, str | None], ...], head: str | None,
               results_key: str | None) -> str | None:
    """The key of the report of these inputs; None when a file could not be read (never cached)."""
    if any(digest is None for _, digest in sources):
        return None
    return digest_of({
        "format": _MAGIC.decode().strip(), "code": code_digest(), "root": str(project.root),
        "design_dir": str(project.design_dir), "config": project.config.model_dump(mode="json"),
        "files": [list(s) for s in sources], "head": head, "results": results_key,
    })


def read_report(path: Path, key: str | None, mac_key: bytes | None = None) -> TraceReport | None:
    """The cached report if the file holds one for exactly `key`, whole and tagged under `mac_key`; else None."""
    if key is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = _MAGIC + key.encode()
    body = untagged(data, mac_key) if data.startswith(head) else None
    if body is None:
        return None
    try:
        return from_plain(marshal.loads(body[len(head):]))
    except Exception:  # noqa: BLE001 - whatever a malformed body raises, the report is recomputed
        return None


def write_report(path: Path, key: str | None, report: TraceReport, mac_key: bytes | None = None) -> None:
    """Keep `report` under `key`, tagged under `mac_key` (atomically; without fsync: a torn file fails its tag)."""
    plain = to_plain(report) if key is not None else None
    if key is None or plain is None:
        path.unlink(missing_ok=True)
        return
    head = _MAGIC + key.encode()
    body = marshal.dumps(plain, _MARSHAL_VERSION)
    del plain
    with atomic_writer(path, durable=False) as f:
        f.write(head)
        f.write(body)
        f.write(tag(mac_key, head, body))
