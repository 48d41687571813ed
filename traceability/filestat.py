"""Content digests of many small files, reusing a digest while the file's stat is unchanged.

Reading and hashing 5,000 design files costs more than the whole warm trace may take, so,
as git's index does, a digest is remembered with the file's stat (size, mtime_ns,
ctime_ns, inode, device) and reused while all five are the same. Any write changes mtime
and ctime (ctime cannot be set back from user space, so a tool restoring mtime, such as
`cp -p` or `tar`, still shows), an editor's save-by-rename changes the inode, so a changed
file always has a changed stat, and then its content is read and hashed again: the
content digest stays the truth. One hole remains, the one git calls "racy": a file written
again within the same timestamp tick as the stat we saw. So a digest is only reused when
the file's mtime and ctime were at least `RACY_NS` older than the moment we took it; a
file changed more recently than that is read again each time until it has settled.

Given a key, each entry also carries an HMAC-SHA256 of its name, stat and digest, and an
entry whose MAC does not verify is read again: an index kept where others can write (the
gate's evidence digests) then cannot vouch for a file edited together with its entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qms.atomic import write_bytes
from qms.hashing import sha256_file, sha256_hex

__all__ = ["FileDigest", "RACY_NS", "scan"]

_VERSION = 1
# Longer than any file system's timestamp tick (FAT: 2 s) and the lag of the kernel's coarse clock.
RACY_NS = 3_000_000_000


@dataclass(frozen=True)
class FileDigest:
    """One file's sha256 (None, with the error, if it could not be read), and its bytes when this scan read them."""

    rel: str
    path: str
    digest: str | None
    data: bytes | None
    error: OSError | None = None


def _read_index(path: Path | None) -> dict[str, list[Any]]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _VERSION or not isinstance(data.get("files"), dict):
        return {}
    files: dict[str, list[Any]] = data["files"]
    return files


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def _mac(mac_key: bytes, rel: str, entry: list[Any]) -> str:
    return hmac.new(mac_key, json.dumps([rel, *entry[:7]], separators=(",", ":")).encode(), hashlib.sha256).hexdigest()


def _trusted(rel: str, entry: Any, key: list[int], racy_ns: int, mac_key: bytes | None) -> str | None:
    """The remembered digest if the stat is the same, was settled when it was taken, and (keyed) the MAC verifies."""
    if not isinstance(entry, list) or len(entry) != (7 if mac_key is None else 8) or entry[:5] != key:
        return None
    digest, taken = entry[5], entry[6]
    if not isinstance(digest, str) or len(digest) != 64 or not isinstance(taken, int):
        return None
    if mac_key is not None and not (isinstance(entry[7], str) and hmac.compare_digest(entry[7], _mac(mac_key, rel, entry))):
        return None
    return digest if max(key[1], key[2]) < taken - racy_ns else None


def scan(paths: Iterable[tuple[str, str]], index: Path | None, racy_ns: int = RACY_NS, *,
         keep_data: bool = True, mac_key: bytes | None = None) -> list[FileDigest]:
    """The digest of each (relative name, path), reusing `index` where the stat allows; rewrites it if anything changed.

    A file that cannot be stat'ed or read (gone since the folder was listed, no
    permission) comes back with its error and no digest: the caller decides what that means.
    With `keep_data` False a file is hashed in chunks and its bytes are not kept (large files).
    With `mac_key`, only entries it authenticates are reused, and every entry written is authenticated.
    """
    known = _read_index(index)
    fresh: dict[str, list[Any]] = {}
    found: list[FileDigest] = []
    changed = False
    taken = time.time_ns()  # before every stat: whatever we see below is at least this new
    for rel, path in paths:
        try:
            key = _stat_key(os.stat(path))
            entry = known.get(rel)
            digest = _trusted(rel, entry, key, racy_ns, mac_key)
            if digest is not None and isinstance(entry, list):
                found.append(FileDigest(rel, path, digest, None))
                fresh[rel] = entry
                continue
            if keep_data:
                with open(path, "rb") as f:
                    data: bytes | None = f.read()
                digest = sha256_hex(data or b"")
            else:
                data, digest = None, sha256_file(Path(path))
        except OSError as exc:
            found.append(FileDigest(rel, path, None, None, exc))
            changed = True
            continue
        found.append(FileDigest(rel, path, digest, data))
        fresh[rel] = [*key, digest, taken]
        if mac_key is not None:
            fresh[rel].append(_mac(mac_key, rel, fresh[rel]))
        changed = changed or fresh[rel] != entry
    if index is not None and (changed or fresh.keys() != known.keys()):
        write_bytes(index, json.dumps({"version": _VERSION, "files": fresh}, separators=(",", ":")).encode(),
                    durable=False)  # torn by a crash, it is not valid JSON and is ignored
    return found
