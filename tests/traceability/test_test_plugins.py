"""`qms test` loads the qms plugin and the project's declared pytest plugins, not every one installed."""

from __future__ import annotations

import importlib.metadata
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.traceability.trace_helpers import NEED, QMS_TOML, git_commit, requirement, write_project
from qms.cli.main import app
from qms.traceability.testplugins import declared_distributions, plugin_args

_INSTALLED = {p.name: (p.dist.name if p.dist else "") for p in importlib.metadata.entry_points(group="pytest11")}

PYPROJECT = """[project]
name = "device"
version = "1"
dependencies = ["numpy>=1.26", "Faker[extra] ; python_version >= '3.11'"]

[project.optional-dependencies]
test = ["pytest>=8", "pytest_xdist==3.6.1"]

[dependency-groups]
dev = ["Hypothesis", {include-group = "test"}]
"""


def _loaded(args: list[str]) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == "-p"]


def test_declared_distributions_come_from_dependencies_extras_and_groups(tmp_path: Path) -> None:
    """Runtime dependencies, optional-dependency extras and dependency groups all declare distributions, by normalised name."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    assert declared_distributions(tmp_path) == {"numpy", "faker", "pytest", "pytest-xdist", "hypothesis"}
    assert declared_distributions(tmp_path / "elsewhere") == set()


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["pytest-xdist", "pytest_xdist", "PyTest.XDist", "pytest__xdist"]),
       st.sampled_from(["", ">=3", "[psutil]>=3.5", " ; python_version >= '3'"]))
def test_a_declared_plugin_loads_whatever_its_name_is_spelled(name: str, spec: str) -> None:
    """A distribution named in any PEP 503 spelling, with extras, versions or markers, has its plugins loaded."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(f'[project]\nname = "d"\ndependencies = ["{name}{spec}"]\n',
                                             encoding="utf-8")
        loaded = _loaded(plugin_args(root, None))
    assert {n for n, dist in _INSTALLED.items() if dist == "pytest-xdist"} <= set(loaded)


def test_only_the_qms_plugin_loads_in_a_project_that_declares_none(tmp_path: Path) -> None:
    """Without a pyproject.toml or test_plugins, autoloading is off and only the qms plugin is named."""
    args = plugin_args(tmp_path, None)
    assert args[0] == "--disable-plugin-autoload" and _loaded(args) == ["qms"]


def test_test_plugins_names_entry_points_or_distributions_and_star_keeps_autoloading(tmp_path: Path) -> None:
    """`test_plugins` adds plugins by entry-point or distribution name; "*" leaves pytest's autoloading as it is."""
    loaded = _loaded(plugin_args(tmp_path, ["hypothesispytest", "Faker"]))
    assert loaded[0] == "qms" and {"hypothesispytest", "faker"} <= set(loaded) and "xdist" not in loaded
    assert plugin_args(tmp_path, ["*"]) == []


PLUGIN_PROBE = '''import pytest


@pytest.mark.verifies("REQ-001")
def test_the_run_loads_only_its_plugins(request):
    """The software does the thing."""
    manager = request.config.pluginmanager
    assert manager.has_plugin("qms")
    assert manager.has_plugin("hypothesispytest") is {expected}
'''


def _run_tests(root: Path, expected: bool, toml: str) -> tuple[int, str]:
    write_project(root, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")}, toml)
    (root / "tests").mkdir(exist_ok=True)
    (root / "tests" / "test_probe.py").write_text(PLUGIN_PROBE.format(expected=expected), encoding="utf-8")
    git_commit(root)
    runner = CliRunner()
    assert runner.invoke(app, ["-C", str(root), "store", "migrate"]).exit_code == 0
    result = runner.invoke(app, ["-C", str(root), "test", "--", "-q", "-p", "no:cacheprovider"])
    return result.exit_code, result.output


def test_a_recorded_run_loads_an_undeclared_plugin_only_when_configured(tmp_path: Path) -> None:
    """`qms test` runs without the environment's other plugins, and with one that `test_plugins` names."""
    code, out = _run_tests(tmp_path / "plain", False, QMS_TOML)
    assert code == 0, out
    code, out = _run_tests(tmp_path / "configured", True, QMS_TOML + 'test_plugins = ["hypothesis"]\n')
    assert code == 0, out
