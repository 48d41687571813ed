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
    assert caught.value.where.split(":")[0] == str(tmp_path.resolve() / "qms.toml")


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


@pytest.mark.parametrize(("table", "typo", "meant"), [
    ("signing", "tsaa", "tsa"), ("signing", "idle_timeout_minute", "idle_timeout_minutes"),
    ("release", "plna", "plan"), ("deid", "date_shift_day", "date_shift_days"), ("compute", "engin", "engine"),
])
def test_a_typo_in_a_capability_table_is_refused_naming_key_table_line_and_the_key_meant(
        tmp_path: Path, table: str, typo: str, meant: str) -> None:
    """An unknown key in [tool.qms.signing], release, deid or compute is refused at file:line, with the key meant."""
    (tmp_path / "qms.toml").write_text(GOOD + f'\n[tool.qms.{table}]\n{typo} = "local"\n')
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert f"unknown key '{typo}' in [tool.qms.{table}]" in caught.value.message
    assert caught.value.where == f"{tmp_path.resolve() / 'qms.toml'}:8"
    assert f"did you mean '{meant}'?" in (caught.value.hint or "")


def test_a_misspelt_required_key_is_named_as_the_typo(tmp_path: Path) -> None:
    """`safty_class` is refused as an unknown key at its line with "did you mean 'safety_class'", not as a missing key."""
    (tmp_path / "qms.toml").write_text(GOOD.replace("safety_class", "safty_class"))
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert "unknown key tool.qms.safty_class" in caught.value.message
    assert caught.value.where == f"{tmp_path.resolve() / 'qms.toml'}:5"
    assert "did you mean 'safety_class'?" in (caught.value.hint or "")


def test_the_capability_tables_keys_are_the_capabilities_own() -> None:
    """The keys the configuration allows in [tool.qms.deid] and [tool.qms.compute] are those their capabilities read."""
    from qms.compute.settings import ComputeSettings
    from qms.config import SUBTABLE_KEYS
    from qms.deid.options import _KEYS as DEID_KEYS
    from qms.errors import QmsError

    assert set(SUBTABLE_KEYS["deid"]) == set(DEID_KEYS)
    ComputeSettings.from_config(dict.fromkeys(SUBTABLE_KEYS["compute"], None) | {"engine": "local"})
    with pytest.raises(QmsError):
        ComputeSettings.from_config({"engine": "local", "zzz": 1})


@pytest.mark.parametrize(("table", "line", "key", "words"), [
    ("deid", 'options = "clean_graphics"', "options", "valid list"),
    ("deid", "date_shift_days = [-30]", "date_shift_days", "at least 2 items"),
    ("deid", 'date_shift_days = [-30, "a week"]', "date_shift_days[1]", "valid integer"),
    ("deid", 'output_names = "flat"', "output_names", "'mirror' or 'sop-instance-uid'"),
    ("deid", 'safe_private = ["0029,xx10"]', "safe_private", "valid dictionary"),
    ("deid", "pixels = true", "pixels", "valid dictionary"),
    ("signing", "idle_timeout_minutes = true", "idle_timeout_minutes", "valid integer"),
    ("signing", 'tsa = "locl"', "tsa", "should match pattern"),  # `qms doctor` said ✓, `qms sign` refused
    ("compute", 'engine = "spark"', "engine", "'local' or 'ray'"),
])
def test_a_capability_table_value_of_the_wrong_type_is_refused_naming_its_key_and_line(
        tmp_path: Path, table: str, line: str, key: str, words: str) -> None:
    """A [tool.qms.deid] (signing, compute) value of a type its schema does not allow is refused on load at its line."""
    (tmp_path / "qms.toml").write_text(GOOD + f"\n[tool.qms.{table}]\n{line}\n")
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert caught.value.message.startswith(f"[tool.qms.{table}] {key}: ") and words in caught.value.message
    assert caught.value.where == f"{tmp_path.resolve() / 'qms.toml'}:8"
    assert "docs/reference/config.md" in (caught.value.hint or "")


def test_the_capability_tables_values_are_typed_in_the_schema_and_the_reference(tmp_path: Path) -> None:
    """Every [tool.qms.deid] key has a type in the configuration's schema, shown in docs/reference/config.md, that
    accepts the de-identification defaults written out and names the output names qms.deid knows."""
    import json

    from qms.deid.options import DeidOptions, OutputNames
    from qms.reference import pages
    from qms.schemas import schema

    deid = schema("config")["properties"]["deid"]["properties"]
    assert all("type" in deid[key] for key in deid), deid
    assert deid["output_names"]["enum"] == [n.value for n in OutputNames]
    defaults = DeidOptions().to_json()
    (tmp_path / "qms.toml").write_text(GOOD + "\n[tool.qms.deid]\n"
                                       + "".join(f"{k} = {json.dumps(v)}\n" for k, v in defaults.items()))
    assert load_project(tmp_path).config.deid == defaults
    assert "| `date_shift_days` | list of integer |" in pages()["config.md"]


@pytest.mark.parametrize("tsa", ["local", "", "http://127.0.0.1:8318/tsa", "https://tsa.example.invalid/rfc3161"])
def test_a_time_stamping_authority_is_local_or_a_url(tmp_path: Path, tsa: str) -> None:
    (tmp_path / "qms.toml").write_text(GOOD + f'\n[tool.qms.signing]\ntsa = "{tsa}"\n')
    assert load_project(tmp_path).config.signing["tsa"] == tsa
