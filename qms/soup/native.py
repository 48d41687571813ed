"""The native libraries the tool loads (weasyprint's Pango, HarfBuzz, ...), mapped to Debian packages.

Python-level SBOM tools miss them: they are dlopen'ed at run time. We read what this process
has mapped (/proc/self/maps) and ask dpkg which package owns each file.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["NativePackage", "loaded_libraries", "native_packages"]


@dataclass(frozen=True, order=True)
class NativePackage:
    """A Debian package providing shared libraries this process loaded."""

    package: str
    version: str
    maintainer: str
    libraries: tuple[str, ...]

    @property
    def purl(self) -> str:
        return f"pkg:deb/debian/{self.package}@{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "maintainer": self.maintainer,
                "libraries": list(self.libraries), "purl": self.purl}


def loaded_libraries(maps: Path = Path("/proc/self/maps")) -> list[str]:
    """Shared objects mapped into this process, outside Python environments (those are distributions)."""
    try:
        text = maps.read_text()
    except OSError:
        return []
    paths = {line.split(None, 5)[5] for line in text.splitlines() if len(line.split(None, 5)) == 6}
    return sorted(p for p in paths if ".so" in Path(p).name and "-packages/" not in p and p.startswith("/"))


def _owners(paths: list[str]) -> dict[str, list[str]]:
    """dpkg -S for each path, trying the merged-/usr alias when the resolved path is not listed."""
    candidates: dict[str, str] = {}
    for p in paths:
        candidates[p] = p
        if p.startswith("/usr/lib/"):
            candidates[p[len("/usr"):]] = p
    proc = subprocess.run(["dpkg", "-S", *candidates], capture_output=True, text=True, check=False)
    owners: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        pkgs, _, path = line.partition(": ")
        if path in candidates:
            for pkg in pkgs.split(", "):
                owners.setdefault(pkg.strip(), []).append(candidates[path])
    return owners


def native_packages(paths: list[str] | None = None) -> list[NativePackage]:
    """Debian packages owning the loaded libraries; empty where dpkg is not available."""
    paths = loaded_libraries() if paths is None else paths
    if not paths:
        return []
    try:
        owners = _owners(paths)
        if not owners:
            return []
        proc = subprocess.run(["dpkg-query", "-W", "-f", "${Package}:${Architecture}\t${Version}\t${Maintainer}\n",
                               *owners], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return []
    info: dict[str, tuple[str, str]] = {}
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            pkg, version, maintainer = parts
            info[pkg] = (version, maintainer.split("<")[0].strip())
            info[pkg.split(":")[0]] = info[pkg]
    out = []
    for pkg, libs in owners.items():
        version, maintainer = info.get(pkg, ("unknown", "unknown"))
        out.append(NativePackage(pkg.split(":")[0], version, maintainer, tuple(sorted(set(libs)))))
    return sorted(out)
