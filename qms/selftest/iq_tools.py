"""IQ: the system tools and fonts qmskit needs, with their versions; a missing one names its Debian package.

pdfsig (poppler) verifies PDF signatures independently, dcmdump (DCMTK) and dciodvfy
(dicom3tools) validate DICOM output, tesseract reads burned-in text in pixels, and the
DejaVu fonts are the ones every evidence document embeds (qms.documents.render).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from qms.documents.render import FONT_DIR, FONT_PACKAGE, FONTS
from qms.findings import Finding
from qms.selftest.checks import Evidence

__all__ = ["TOOLS", "Tool", "check_system_tools"]

_VERSION = re.compile(r"\d+(?:\.\d+)+")


@dataclass(frozen=True)
class Tool:
    """A program found on PATH, the Debian package that provides it, and how it tells its version."""

    command: str
    package: str
    purpose: str
    version_args: tuple[str, ...] | None


TOOLS = (
    Tool("pdfsig", "poppler-utils", "independent PDF signature verification", ("-v",)),
    Tool("dcmdump", "dcmtk", "DICOM output validation", ("--version",)),
    Tool("dciodvfy", "dicom3tools", "DICOM IOD validation", None),
    Tool("tesseract", "tesseract-ocr", "burned-in text detection in pixels", ("--version",)),
)


def _run(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout + done.stderr


def _package_version(package: str) -> str | None:
    """The installed Debian package's version (dpkg), where dpkg is there to ask."""
    if shutil.which("dpkg-query") is None:
        return None
    out = _run(["dpkg-query", "-W", "-f", "${Version}", package]).strip()
    return out if out and "no packages found" not in out else None


def _version(tool: Tool, path: str) -> str:
    if tool.version_args is not None:
        match = _VERSION.search(_run([path, *tool.version_args]))
        if match:
            return match.group(0)
    return _package_version(tool.package) or "unknown"


def check_system_tools(check: str, path: str | None = None) -> tuple[list[Finding], Evidence]:
    """Each tool found on `path` (the process's PATH when None) and each pinned font file present."""
    findings: list[Finding] = []
    evidence: Evidence = {}
    for tool in TOOLS:
        found = shutil.which(tool.command, path=path)
        if found is None:
            findings.append(Finding(check, tool.command, f"{tool.command} ({tool.purpose}) is not installed",
                                    f"install the Debian package {tool.package}: apt-get install {tool.package}"))
            continue
        evidence[tool.command] = f"{_version(tool, found)} ({found})"
    for family, files in FONTS.items():
        for name in files:
            if not (FONT_DIR / name).is_file():
                findings.append(Finding(check, name, f"the pinned font {family} ({name}) is not installed",
                                        f"install the Debian package {FONT_PACKAGE}: apt-get install {FONT_PACKAGE}",
                                        where=str(FONT_DIR / name)))
    evidence["fonts"] = f"{FONT_PACKAGE} {_package_version(FONT_PACKAGE) or 'version unknown'} ({FONT_DIR})"
    return findings, evidence
