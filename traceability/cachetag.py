"""The tag every trace cache file ends with: an HMAC under QMS_HOME's evidence cache key, else a plain sha256.

The caches sit in the project's records folder, which whoever can write the store can
write too: a report rewritten without its gaps, or a design entry without an item, would
pass the gate's trace criteria. With the key (`home_key`, kept
outside every project) a forged or foreign file fails its tag and is rebuilt, never
trusted and never an error. Without a key the sha256 only catches a torn file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Any

from qms.atomic import write_bytes, write_private

__all__ = ["CACHE_KEY_FILE", "home_key", "read_json", "tag", "untagged", "write_json"]

_TAG = 32
CACHE_KEY_FILE = "evidence-cache.key"
"""The MAC key of the caches `qms verify` reuses, in QMS_HOME (outside every project)."""


def home_key(home: Path | None) -> bytes | None:
    """The key in QMS_HOME, made with the first cache written; None without a QMS_HOME folder (no keyed cache).

    An entry made before the key, or forged, verifies under no key, so it is rebuilt (the key vouches for
    nothing the verifier did not compute itself). `qms verify`, `qms trace` and `qms serve` share it, so each
    reuses the others' caches.
    """
    if home is None or not home.is_dir():
        return None
    path = home / CACHE_KEY_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        return secrets.token_bytes(32)  # unreadable or damaged: trust nothing this time, and leave the file for a person
    key = secrets.token_bytes(32)
    try:
        write_private(path, key.hex().encode())
    except FileExistsError:  # another command made it first
        return home_key(home)
    return key


def tag(key: bytes | None, *parts: bytes | memoryview) -> bytes:
    """The tag of the file made of `parts`, written after them."""
    digest = hmac.new(key, digestmod=hashlib.sha256) if key is not None else hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


def untagged(data: bytes | memoryview, key: bytes | None) -> memoryview | None:
    """The file's content without its tag if the tag is right under `key`; else None (ignore the file)."""
    view = memoryview(data)
    if len(view) < _TAG:
        return None
    body = view[:-_TAG]
    return body if hmac.compare_digest(tag(key, body), bytes(view[-_TAG:])) else None


def read_json(path: Path, key: bytes | None) -> Any:
    """What a tagged JSON cache file holds; None when it is missing, torn, or not tagged under `key`."""
    try:
        body = untagged(path.read_bytes(), key)
        return None if body is None else json.loads(bytes(body))
    except (OSError, ValueError):
        return None


def write_json(path: Path, data: bytes, key: bytes | None) -> None:
    """Keep the JSON `data` tagged under `key` (no fsync: a torn file fails its tag and is ignored)."""
    write_bytes(path, data + tag(key, data), durable=False)
