"""A bad output or input path (a folder, a file where a folder should be, a missing file) is the user's error, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms import atomic
from qms.errors import QmsError
from tests.traceability.trace_helpers import NEED, write_project

QMS = str(Path(sys.executable).parent / "qms")


def _qms(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QMS_HOME": str(cwd / "home"), "COLUMNS": "200"}
    env.pop("QMS_DEBUG", None)
    return subprocess.run([QMS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(st.characters(whitelist_categories=("Ll", "Nd")), min_size=1, max_size=8))
def test_writing_onto_a_folder_names_it(tmp_path: Path, name: str) -> None:
    """An atomic write whose destination is a folder raises a QmsError naming it and leaves the folder as it was."""
    folder = tmp_path / f"d{name}"
    folder.mkdir(exist_ok=True)
    with pytest.raises(QmsError) as caught:
        atomic.write_text(folder, "x")
    assert caught.value.where == str(folder) and "is a folder" in caught.value.message
    assert list(folder.iterdir()) == []


def test_writing_under_a_file_names_the_file(tmp_path: Path) -> None:
    """An atomic write below a path that is a file names that file as the obstacle, with a hint."""
    (tmp_path / "qms.toml").write_text("x", encoding="utf-8")
    target = tmp_path / "qms.toml" / "x.json"
    with pytest.raises(QmsError) as caught:
        atomic.write_text(target, "x")
    assert caught.value.where == str(target) and "qms.toml is a file" in caught.value.message and caught.value.hint
    with pytest.raises(QmsError):
        atomic.check_destination(target)


def test_reading_a_missing_file_or_a_folder_names_it(tmp_path: Path) -> None:
    """The shared input reader turns a missing file or a folder into a QmsError naming the path."""
    with pytest.raises(QmsError, match="does not exist") as missing:
        atomic.read_input(tmp_path / "nope.pem")
    assert missing.value.where == str(tmp_path / "nope.pem")
    with pytest.raises(QmsError, match="is a folder"):
        atomic.read_input(tmp_path)


def test_cli_output_and_input_paths_exit_2_with_the_path(tmp_path: Path) -> None:
    """Real `qms` runs with an output that is a folder or under a file, or a --ca that is missing or a folder, exit 2 naming it."""
    write_project(tmp_path, {"needs.yaml": NEED})
    (tmp_path / "b.zip").write_bytes(b"PK")
    assert _qms(tmp_path, "store", "migrate").returncode == 0
    cases = [
        (["trace", "--html", str(tmp_path / "design")], "is a folder"),
        (["trace", "--html", str(tmp_path / "qms.toml" / "x.html")], "is a file, not a folder"),
        (["bundle", "verify", "b.zip", "--ca", str(tmp_path / "missing.pem")], "does not exist"),
        (["bundle", "verify", "b.zip", "--ca", str(tmp_path / "design")], "is a folder"),
    ]
    for args, reason in cases:
        done = _qms(tmp_path, *args)
        assert done.returncode == 2, (args, done.stderr)
        assert reason in done.stderr and "internal error" not in done.stderr, (args, done.stderr)


def test_debug_is_accepted_after_the_command_name(tmp_path: Path) -> None:
    """`qms bundle verify X --debug` parses (the global option after the command) and reports the bundle, not the option."""
    done = _qms(tmp_path, "bundle", "verify", "missing.zip", "--debug")
    assert done.returncode == 2 and "no such bundle" in done.stderr and "No such option" not in done.stderr


def test_a_passphrase_prompt_without_a_terminal_names_its_variable(tmp_path: Path) -> None:
    """`qms ca init` with stdin at its end exits 2 naming QMS_CA_PASSPHRASE, with no Python warning or echo notice."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QMS_")} | {"QMS_HOME": str(tmp_path / "home")}
    done = subprocess.run([QMS, "ca", "init", "--organisation", "Example"], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "set QMS_CA_PASSPHRASE" in done.stderr, done.stderr
    assert "Warning" not in done.stderr and "GetPassWarning" not in done.stderr


def test_dead_ends_name_the_way_on(tmp_path: Path) -> None:
    """A folder for a protocol file, a file for the model folder, a missing -C folder and an id without @version each get exit 2 and a hint."""
    write_project(tmp_path, {"needs.yaml": NEED})
    assert _qms(tmp_path, "store", "migrate").returncode == 0
    (tmp_path / "protocols").mkdir()
    (tmp_path / "protocols" / "VAL-A.yaml").write_text("id: VAL-A\n", encoding="utf-8")
    (tmp_path / "weights.bin").write_bytes(b"w")
    cases = [
        (["protocol", "check", "protocols"], "is a folder, not a protocol file", "protocols/VAL-A.yaml"),
        (["model", "register", "weights.bin", "--name", "m", "--version", "1"], "is a file, not a folder",
         "model folder"),
        (["-C", str(tmp_path / "nonexist"), "trace"], "does not exist", "leave out -C"),
        (["protocol", "show", "VAL-A"], "no lock for VAL-A", "no protocol is locked yet"),
    ]
    for args, reason, hint in cases:
        done = _qms(tmp_path, *args)
        assert done.returncode == 2 and reason in done.stderr and hint in done.stderr, (args, done.stderr)
