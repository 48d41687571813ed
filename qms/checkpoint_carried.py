"""The audit checkpoints the project's release bundles carry: copies of the chain head kept where the log is not.

Each bundle seals a checkpoint of the audit chain (`audit/checkpoint.json`, signed with the
checkpoint key) into the zip the approver signs. Those copies outlive the checkpoint log:
a log whose tail was cut, or a log deleted with the chain rewritten, is caught by comparing
the chain and the log with the checkpoint of each bundle the project wrote.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from qms.checkpoint import Checkpoint
from qms.errors import QmsError

__all__ = ["BUNDLE_GLOB", "BUNDLE_SUFFIX", "CHECKPOINT_MEMBER", "Carried", "carried_checkpoints"]

CHECKPOINT_MEMBER = "audit/checkpoint.json"
"""The checkpoint's name in a bundle (`qms.release.bundle.CHECKPOINT`)."""

BUNDLE_SUFFIX = "-bundle.zip"
BUNDLE_GLOB = f"releases/*{BUNDLE_SUFFIX}"
"""Where `qms release` writes bundles, relative to the project's records folder (`qms.release.assembly.bundle_path`)."""
_MAX_BYTES = 64 * 1024  # a checkpoint is a few hundred bytes; a larger member is not one


@dataclass(frozen=True)
class Carried:
    """One bundle's checkpoint, or why it could not be read."""

    bundle: Path
    checkpoint: Checkpoint | None
    problem: str | None = None


def _read(path: Path) -> Carried:
    where = f"{path}:{CHECKPOINT_MEMBER}"
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(CHECKPOINT_MEMBER)
            if info.file_size > _MAX_BYTES:
                return Carried(path, None, f"its {CHECKPOINT_MEMBER} is {info.file_size} bytes: not a checkpoint")
            with z.open(info) as f:
                data = f.read(_MAX_BYTES + 1)
        return Carried(path, Checkpoint.from_json(json.loads(data), where))
    except KeyError:
        return Carried(path, None, f"the bundle carries no {CHECKPOINT_MEMBER}")
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        return Carried(path, None, f"the bundle's checkpoint cannot be read: {exc}")
    except QmsError as exc:
        return Carried(path, None, exc.message)


def carried_checkpoints(records_dir: Path) -> list[Carried]:
    """The checkpoint of every bundle under the records folder, in name order."""
    return [_read(p) for p in sorted(records_dir.glob(BUNDLE_GLOB)) if p.is_file()]
