"""Installation qualification: installed files against RECORD, dependencies against the lock, system tools on PATH."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import os
import shutil
from pathlib import Path

import pytest

from qms.errors import QmsError
from qms.selftest.iq_dependencies import check_dependencies, read_lock
from qms.selftest.iq_files import check_installed_files
from qms.selftest.iq_tools import TOOLS, check_system_tools

pytestmark = pytest.mark.verifies("QMS-REQ-008", "QMS-RC-006")


def _installed(tmp_path: Path) -> importlib.metadata.Distribution:
    """A wheel-installed distribution in site-packages form: two modules and a dist-info RECORD of their hashes."""
    site = tmp_path / "site-packages"
    files = {"fakepkg/__init__.py": b"", "fakepkg/core.py": b"ANSWER = 42\n"}
    lines = []
    for rel, data in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{rel},sha256={digest},{len(data)}")
    info = site / "fakepkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n")
    (info / "RECORD").write_text("\n".join([*lines, "fakepkg-1.0.dist-info/RECORD,,"]) + "\n")
    return importlib.metadata.PathDistribution(info)


def test_an_untouched_installation_passes_with_every_file_hashed(tmp_path: Path) -> None:
    """Every file the RECORD lists is hashed and matches: no finding, the count says what was checked."""
    findings, evidence = check_installed_files(_installed(tmp_path), "iq-files")
    assert findings == []
    assert evidence["files hashed"] == "2" and evidence["install"] == "wheel"


def test_a_tampered_installed_file_fails_iq_naming_it(tmp_path: Path) -> None:
    """One changed byte in an installed module is a blocking finding naming that file, and only it."""
    dist = _installed(tmp_path)
    (tmp_path / "site-packages" / "fakepkg" / "core.py").write_bytes(b"ANSWER = 43\n")
    findings, _ = check_installed_files(dist, "iq-files")
    assert [(f.item, f.blocking) for f in findings] == [("fakepkg/core.py", True)]
    assert "differs from the hash in the wheel's RECORD" in findings[0].reason


def test_a_deleted_installed_file_fails_iq_naming_it(tmp_path: Path) -> None:
    """A file the RECORD lists but that is gone is a blocking finding naming it."""
    dist = _installed(tmp_path)
    (tmp_path / "site-packages" / "fakepkg" / "__init__.py").unlink()
    findings, _ = check_installed_files(dist, "iq-files")
    assert [f.item for f in findings] == ["fakepkg/__init__.py"] and "missing" in findings[0].reason


def test_a_missing_system_tool_fails_iq_with_the_package_to_install(tmp_path: Path) -> None:
    """With an empty PATH every tool is missing, and each finding names the Debian package that provides it."""
    empty = tmp_path / "bin"
    empty.mkdir()
    findings, _ = check_system_tools("iq-system-tools", str(empty))
    by_tool = {f.item: f for f in findings}
    assert set(by_tool) >= {t.command for t in TOOLS}
    for tool in TOOLS:
        assert f"apt-get install {tool.package}" in by_tool[tool.command].hint


@pytest.mark.external
def test_only_the_tool_left_off_path_is_reported(tmp_path: Path) -> None:
    """A PATH holding every tool but dciodvfy fails IQ on dciodvfy alone, naming dicom3tools; the others show versions."""
    path = tmp_path / "bin"
    path.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool.command)
        assert found, f"{tool.command} must be installed for this test"
        if tool.command != "dciodvfy":
            os.symlink(found, path / tool.command)
    findings, evidence = check_system_tools("iq-system-tools", str(path))
    assert [(f.item, "dicom3tools" in f.hint) for f in findings] == [("dciodvfy", True)]
    assert {"pdfsig", "dcmdump", "tesseract"} <= set(evidence)


def test_a_dependency_at_another_version_than_the_lock_is_named() -> None:
    """An installed version other than the pin, and a pinned package not installed, are each a finding naming it."""
    lock = ("# pins\nalpha==1.0\nBeta_Pkg==2.0\ngamma==3.0\n", "requirements.lock")
    findings, evidence = check_dependencies("iq-dependencies", {"alpha": "1.0", "beta-pkg": "2.1"}, lock)
    assert [(f.item, f.reason) for f in findings] == [("beta-pkg", "installed 2.1, the lock pins 2.0"),
                                                       ("gamma", "pinned at 3.0 but not installed")]
    assert evidence["pins"] == "3"


def test_a_local_build_meets_a_pin_without_a_local_label() -> None:
    """PEP 440: torch 2.13.0+cpu meets the pin torch==2.13.0; a pin with a local label must match exactly."""
    findings, _ = check_dependencies("iq-dependencies", {"torch": "2.13.0+cpu", "x": "1.0+cpu"},
                                     ("torch==2.13.0\nx==1.0+cu12\n", "lock"))
    assert [f.item for f in findings] == ["x"]


def test_a_line_of_the_lock_that_is_not_a_pin_names_its_line() -> None:
    """A lock line that is not name==version is an error naming file:line."""
    with pytest.raises(QmsError) as caught:
        read_lock("alpha==1.0\nbeta>=2\n", "requirements.lock")
    assert caught.value.where == "requirements.lock:2"


def test_this_environment_matches_the_shipped_lock() -> None:
    """The lock shipped with qmskit as package data is read, and this environment installs every pin at its version."""
    findings, evidence = check_dependencies("iq-dependencies")
    assert findings == [] and int(evidence["pins"]) > 50
