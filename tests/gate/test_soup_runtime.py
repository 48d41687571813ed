"""A runtime dependency of the device that the SOUP list does not review is a gate finding (IEC 62304 §8.1.2)."""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from qms.config import load_project
from qms.gate.checks.soup import SoupCurrent
from qms.gate.context import GateContext
from qms.models import registry
from qms.models.card import ModelFormat
from qms.release_plan import load_plan
from qms.soup.runtime import class_distributions, declared_dependencies
from qms.store import open_store
from tests.models.helpers import torch_folder, write_card

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage"


def _numpy_only(root: Path) -> None:
    (root / "soup.yaml").write_text(
        "soup:\n  - name: numpy\n"
        f"    version: \"{metadata.version('numpy')}\"\n"
        "    purpose: arrays\n    requirements: REQ-001\n    anomaly_review: reviewed\n"
        "    level_of_support: community\n    end_of_support: none announced\n    known_vulnerabilities: none known\n",
        encoding="utf-8")


def test_a_declared_runtime_dependency_missing_from_the_soup_file_blocks(tmp_path: Path) -> None:
    """With soup.yaml listing only numpy and torch and transformers required, each missing one is a finding naming where it is required."""
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qms", "out", "data", "__pycache__"))
    _numpy_only(root)
    (root / "requirements.txt").write_text("# runtime\nnumpy>=1.26\ntorch==2.*  # inference\ntransformers[torch]\n",
                                           encoding="utf-8")
    project = load_project(root)
    store = open_store(f"sqlite:///{tmp_path / 'qms.db'}")
    try:
        outcome = SoupCurrent().evaluate(GateContext(project, store, load_plan(project)))
    finally:
        store.dispose()
    missing = {f.item: f.reason for f in outcome.findings if "runtime dependency" in f.reason}
    assert set(missing) == {"SOUP:torch", "SOUP:transformers"}
    assert f"requirements.txt:3" in missing["SOUP:torch"] and not outcome.passed


def test_a_model_format_brings_what_it_runs_on(tmp_path: Path) -> None:
    """A transformers model runs on torch, transformers, safetensors and pydicom: each is a runtime dependency."""
    deps = declared_dependencies(tmp_path, ModelFormat.TRANSFORMERS.runtime, "cxr@1.0")
    assert {"torch", "transformers", "safetensors", "pydicom"} <= {d.name for d in deps}
    assert all(d.why == "model cxr@1.0 runs on it" for d in deps)


@pytest.mark.parametrize(("network", "owners"), [
    ("torch.nn:Linear", ("torch",)),
    ("google.protobuf.message:Message", ("protobuf",)),  # a namespace four distributions share: the file's holder
    ("qms.models.nets:SmallCnn2d", ()),  # qmskit's own: the tool, qualified by `qms selftest`, not SOUP
    ("mydevice.nets:Net", ()),  # the device's own code, which no distribution installs
], ids=["package", "namespace", "qmskit", "device-code"])
def test_a_network_class_is_owned_by_the_distribution_that_installs_it(tmp_path: Path, network: str,
                                                                      owners: tuple[str, ...]) -> None:
    assert class_distributions(tmp_path, network) == owners


def test_the_device_s_own_distribution_is_not_its_soup(tmp_path: Path) -> None:
    """A device installed as a distribution of its own (`[project] name`) runs its own class, not SOUP."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "Torch"\ndependencies = []\n', encoding="utf-8")
    assert class_distributions(tmp_path, "torch.nn:Linear") == ()


_NETS = """import torch


class TinyNet(torch.nn.Module):
    def __init__(self, labels: int = 3, channels: int = 1) -> None:
        super().__init__()
        self.head = torch.nn.Linear(channels * 16, labels)
        self.pool = torch.nn.AdaptiveAvgPool2d(4)

    def forward(self, x):
        return self.head(self.pool(x).flatten(1))
"""


def _installed_nets(site: Path) -> None:
    """`tinynets` 1.0, a distribution of networks installed into `site` (as pip would: a package, its dist-info)."""
    (site / "tinynets").mkdir(parents=True)
    (site / "tinynets" / "__init__.py").write_text(_NETS, encoding="utf-8")
    info = site / "tinynets-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tinynets\nVersion: 1.0\n", encoding="utf-8")
    (info / "top_level.txt").write_text("tinynets\n", encoding="utf-8")


def test_a_network_class_from_an_unreviewed_distribution_blocks(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A torch model whose network class comes from an installed distribution makes that distribution SOUP: missing
    from the soup file, it is a finding naming the class; the format's own runtime is found as before."""
    _installed_nets(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qms", "out", "data", "__pycache__"))
    _numpy_only(root)
    folder = torch_folder(tmp_path / "model")
    data = yaml.safe_load((folder / "model_card.yaml").read_text(encoding="utf-8"))
    data["architecture"]["torch_class"] = "tinynets:TinyNet"
    write_card(folder, data)
    project = load_project(root)
    store = open_store(f"sqlite:///{tmp_path / 'qms.db'}")
    try:
        plan = load_plan(project)
        name, version = str(plan.model).split("@")
        registry.register(store, folder, name=name, version=version, actor="t.tester")
        outcome = SoupCurrent().evaluate(GateContext(project, store, plan))
    finally:
        store.dispose()
    missing = {f.item: f.reason for f in outcome.findings if "runtime dependency" in f.reason}
    assert set(missing) == {"SOUP:pydicom", "SOUP:safetensors", "SOUP:torch", "SOUP:tinynets"}
    assert "network class tinynets:TinyNet" in missing["SOUP:tinynets"] and not outcome.passed
