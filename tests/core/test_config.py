"""The device project's configuration: loaded when valid, refused with a named key when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from qms.config import SafetyClass, load_project
from qms.errors import ConfigError

GOOD = """
[tool.qms]
device = "Triage"
intended_use = "Flags suspected pneumothorax."
safety_class = "B"
"""


def test_loads_tool_qms_from_pyproject(tmp_path: Path) -> None:
    """A [tool.qms] table in pyproject.toml is read and validated."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n' + GOOD)
    project = load_project(tmp_path)
    assert project.config.device == "Triage"
    assert project.config.safety_class is SafetyClass.B
    assert project.design_dir == tmp_path.resolve() / "design"
    assert project.database_url() == f"sqlite:///{tmp_path.resolve() / '.qms' / 'qms.db'}"


def test_qms_toml_takes_precedence(tmp_path: Path) -> None:
    """qms.toml, when present, is the configuration even if pyproject.toml has one too."""
    (tmp_path / "pyproject.toml").write_text(GOOD)
    (tmp_path / "qms.toml").write_text(GOOD.replace('"B"', '"C"'))
    assert load_project(tmp_path).config.safety_class is SafetyClass.C


def test_database_url_override_wins(tmp_path: Path) -> None:
    """An explicit URL (QMS_DATABASE_URL at the CLI) overrides the configured store; a relative SQLite path is the project's."""
    (tmp_path / "qms.toml").write_text(GOOD + 'database_url = "sqlite:///other.db"\n')
    project = load_project(tmp_path)
    assert project.database_url() == f"sqlite:///{tmp_path.resolve() / 'other.db'}"
    assert project.database_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD + "colour = 'red'\n", "unknown key tool.qms.colour"),
        (GOOD.replace('safety_class = "B"', 'safety_class = "D"'), "tool.qms.safety_class"),
        (GOOD.replace('device = "Triage"\n', ""), "missing required key tool.qms.device"),
        ("[tool.qms\n", "not valid TOML"),
        ("[tool.qms]\ndevice = 3\nintended_use='x'\nsafety_class='A'\n", "tool.qms.device"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    """A malformed configuration is refused with the file, the key and what is allowed."""
    (tmp_path / "qms.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert expected in caught.value.message
    assert caught.value.where == str(tmp_path.resolve() / "qms.toml")


def test_unknown_key_lists_allowed_keys(tmp_path: Path) -> None:
    """The hint for an unknown key lists the keys that are allowed."""
    (tmp_path / "qms.toml").write_text(GOOD + "colour = 'red'\n")
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert caught.value.hint is not None and "safety_class" in caught.value.hint


def test_non_utf8_config_is_refused(tmp_path: Path) -> None:
    """A configuration file that is not UTF-8 is refused, naming the file."""
    (tmp_path / "qms.toml").write_bytes(b"[tool.qms]\ndevice = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_project(tmp_path)


def test_missing_project_is_a_clear_error(tmp_path: Path) -> None:
    """A folder without configuration, or no folder at all, says how to create a project."""
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert caught.value.hint is not None and "qms init" in caught.value.hint
    with pytest.raises(ConfigError, match="does not exist"):
        load_project(tmp_path / "absent")
