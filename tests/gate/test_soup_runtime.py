"""A runtime dependency of the device that the SOUP list does not review is a gate finding (IEC 62304 §8.1.2)."""

from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from qms.config import load_project
from qms.gate.checks.soup import SoupCurrent
from qms.gate.context import GateContext
from qms.models.card import ModelFormat
from qms.release_plan import load_plan
from qms.soup.runtime import declared_dependencies
from qms.store import open_store

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
