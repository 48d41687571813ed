"""Hashes over canonical bytes, so the same content hashes the same on every machine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = ["canonical_json", "digest_of", "normalised_text_digest", "sha256_file", "sha256_hex"]

_CHUNK = 1 << 20
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(obj: Any) -> bytes:
    """Sorted-key, compact, UTF-8 JSON: the one byte form every digest is taken over."""
    return _CANONICAL.encode(obj).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_of(obj: Any) -> str:
    """sha256 of an object's canonical JSON form."""
    return sha256_hex(canonical_json(obj))


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks so large files need little memory."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def normalised_text_digest(text: str) -> str:
    """sha256 of text with line endings normalised to LF (CRLF checkouts hash the same)."""
    return sha256_hex(text.replace("\r\n", "\n").replace("\r", "\n").encode())
