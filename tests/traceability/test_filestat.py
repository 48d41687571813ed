"""File digests reused by stat: only while size, mtime, ctime, inode and device are all unchanged and settled."""

from __future__ import annotations

import json
import os
from pathlib import Path

from qms.hashing import sha256_hex
from qms.traceability.filestat import scan


def _scan(path: Path, index: Path, racy_ns: int = 0) -> tuple[str | None, bool]:
    (found,) = scan([("design/a.yaml", str(path))], index, racy_ns)
    return found.digest, found.data is not None


def test_an_unchanged_settled_file_is_not_read_again(tmp_path: Path) -> None:
    """With the same stat as when it was hashed (and settled), the remembered digest is used without reading."""
    path, index = tmp_path / "a.yaml", tmp_path / "index.json"
    path.write_bytes(b"id: REQ-1\n")
    assert _scan(path, index) == (sha256_hex(b"id: REQ-1\n"), True)
    assert _scan(path, index) == (sha256_hex(b"id: REQ-1\n"), False)


def test_a_same_size_edit_with_mtime_restored_is_still_seen(tmp_path: Path) -> None:
    """Rewriting a file with other bytes of the same size and setting its mtime back changes ctime, so it is re-hashed."""
    path, index = tmp_path / "a.yaml", tmp_path / "index.json"
    path.write_bytes(b"text: one\n")
    before = os.stat(path)
    _scan(path, index)
    path.write_bytes(b"text: two\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert _scan(path, index) == (sha256_hex(b"text: two\n"), True)


def test_a_file_replaced_by_rename_is_re_hashed(tmp_path: Path) -> None:
    """An editor's save-by-rename gives a new inode: the file is read again even with identical content."""
    path, index = tmp_path / "a.yaml", tmp_path / "index.json"
    path.write_bytes(b"text: one\n")
    _scan(path, index)
    (tmp_path / "new").write_bytes(b"text: one\n")
    os.replace(tmp_path / "new", path)
    assert _scan(path, index) == (sha256_hex(b"text: one\n"), True)


def test_a_recently_written_file_is_always_read(tmp_path: Path) -> None:
    """Within the racy window after a write, the stat is not trusted even when it is identical."""
    path, index = tmp_path / "a.yaml", tmp_path / "index.json"
    path.write_bytes(b"text: one\n")
    _scan(path, index, racy_ns=60_000_000_000)
    assert _scan(path, index, racy_ns=60_000_000_000)[1] is True


def test_a_damaged_index_or_a_vanished_file_is_not_trusted(tmp_path: Path) -> None:
    """A corrupt index is ignored (every file is hashed); a file that cannot be read comes back with its error."""
    path, index = tmp_path / "a.yaml", tmp_path / "index.json"
    path.write_bytes(b"text: one\n")
    _scan(path, index)
    index.write_bytes(index.read_bytes()[:20])
    assert _scan(path, index)[1] is True
    (gone,) = scan([("design/b.yaml", str(tmp_path / "b.yaml"))], index)
    assert gone.digest is None and isinstance(gone.error, FileNotFoundError)


def test_keyed_entries_are_reused_only_under_their_key(tmp_path: Path) -> None:
    """With a MAC key an entry is reused only when its MAC verifies under that key; another key, an unkeyed index or an
    edited digest make the file be read again."""
    path, index = tmp_path / "a.yaml", tmp_path / "index.json"
    path.write_bytes(b"id: REQ-1\n")

    def read_again(key: bytes | None) -> bool:
        (found,) = scan([("a", str(path))], index, 0, mac_key=key)
        return found.data is not None

    assert read_again(b"k" * 32) and not read_again(b"k" * 32)
    assert read_again(b"x" * 32)  # written under another key
    assert read_again(None) and read_again(b"k" * 32)  # an unkeyed entry is not trusted under a key
    doc = json.loads(index.read_text())
    doc["files"]["a"][5] = sha256_hex(b"id: REQ-2\n")
    index.write_text(json.dumps(doc))
    (found,) = scan([("a", str(path))], index, 0, mac_key=b"k" * 32)
    assert found.digest == sha256_hex(b"id: REQ-1\n")
