"""The digest of the code that makes the design and trace caches, so that changed code never reads an old one."""

from __future__ import annotations

import hashlib
import sys
from functools import cache
from pathlib import Path

import yaml

import qms
from qms import hashing

__all__ = ["code_digest"]


@cache
def code_digest() -> str:
    """Digest of the code that makes the report: a changed module (or library) never reads an old cache.

    Taken once per process, at first use, just after the package was imported: the code
    that runs is the code that was read (short of an edit in that instant).
    """
    here = Path(__file__).resolve().parent
    sources = sorted(here.glob("*.py")) + [Path(hashing.__file__)]
    h = hashlib.sha256()
    for path in sources:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(f"{qms.__version__}|{yaml.__version__}|{hasattr(yaml, 'CSafeLoader')}|{sys.version}".encode())
    return h.hexdigest()
