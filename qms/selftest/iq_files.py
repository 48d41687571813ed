"""IQ: every installed qmskit file against the hashes its wheel's RECORD holds (PEP 376, PEP 627).

A wheel install is checked file by file: a file changed, missing or unreadable after
installation is a blocking finding naming it. An editable (development) install has no
RECORD of its sources, only of the files that point at the working tree: those are
checked, and the sources are compared with the git commit they come from; a changed source
is shown as a warning, because a working tree is not a qualified installation (install
the wheel for that, docs/selftest.md).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlparse

from qms.findings import Finding, Severity
from qms.selftest.checks import Evidence

__all__ = ["check_installed_files", "editable_root"]


def _record_hash(path: Path) -> str:
    """The RECORD form of a file's sha256: urlsafe base64 without padding."""
    digest = hashlib.sha256(path.read_bytes()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def editable_root(dist: importlib.metadata.Distribution) -> Path | None:
    """The working tree of an editable install (PEP 660, its direct_url.json), else None."""
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not (isinstance(data, dict) and data.get("dir_info", {}).get("editable")):
        return None
    url = urlparse(str(data.get("url", "")))
    return Path(unquote(url.path)) if url.scheme == "file" else None


def _record_findings(dist: importlib.metadata.Distribution, check: str) -> tuple[list[Finding], int]:
    files = dist.files
    if files is None:
        return [Finding(check, dist.metadata["Name"], "the installation has no RECORD file",
                        "reinstall qmskit from its wheel")], 0
    out: list[Finding] = []
    checked = 0
    for entry in files:
        if entry.hash is None:  # RECORD itself and compiled caches carry no hash (PEP 376)
            continue
        path = Path(str(dist.locate_file(entry)))
        name = str(entry)
        if entry.hash.mode != "sha256":
            out.append(Finding(check, name, f"RECORD names an unsupported hash {entry.hash.mode}", where=str(path)))
            continue
        try:
            found = _record_hash(path)
        except OSError as exc:
            out.append(Finding(check, name, f"installed file missing or unreadable: {exc.strerror or exc}",
                               "reinstall qmskit from its wheel", where=str(path)))
            continue
        checked += 1
        if found != entry.hash.value:
            out.append(Finding(check, name, "installed file differs from the hash in the wheel's RECORD",
                               "the installation was changed after it was installed: reinstall qmskit from its wheel",
                               where=str(path)))
    return out, checked


def _source_dirs(root: Path) -> list[str]:
    """The folders the editable install maps (setuptools package-dir of the tree's pyproject.toml)."""
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ["."]
    mapped = data.get("tool", {}).get("setuptools", {}).get("package-dir", {})
    return sorted({str(v) for v in mapped.values()}) if isinstance(mapped, dict) and mapped else ["."]


def _working_tree_findings(root: Path, check: str) -> tuple[list[Finding], Evidence]:
    """Sources of an editable install that differ from their git commit (warnings: not a qualified install)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        return done.stdout if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD").strip()
    if not commit:
        return [Finding(check, str(root), "editable install outside a git commit: its sources cannot be checked",
                        "install qmskit from its wheel for a qualified installation", severity=Severity.WARNING)], {}
    sources = _source_dirs(root)
    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no", "--", *sources).splitlines()
               if line[3:]]
    hint = "a working tree is not a qualified installation: install qmskit from its wheel"
    return ([Finding(check, name, f"editable install: differs from commit {commit[:12]}", hint, where=str(root / name),
                     severity=Severity.WARNING) for name in changed],
            {"install": f"editable, working tree {root} at commit {commit}", "changed sources": str(len(changed))})


def check_installed_files(dist: importlib.metadata.Distribution, check: str) -> tuple[list[Finding], Evidence]:
    """Every file of `dist` with a RECORD hash, and for an editable install its sources against git."""
    findings, checked = _record_findings(dist, check)
    evidence: Evidence = {"distribution": f"{dist.metadata['Name']} {dist.version}", "files hashed": str(checked)}
    root = editable_root(dist)
    if root is None:
        evidence["install"] = "wheel"
        return findings, evidence
    more, tree = _working_tree_findings(root, check)
    return findings + more, evidence | tree
