"""`--engine` and `[tool.qms.compute]` on the commands: Ray when asked, local by default, bad settings exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from qms.compute.ray_engine import RayEngine
from qms.deid.synthetic import write_synthetic_tree
from tests.deid.manifests import manifest_of

runner = CliRunner()


def qms(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A device project, a key and 6 synthetic files."""
    root, key, src = tmp_path / "device", tmp_path / "deid.key", tmp_path / "in"
    assert qms("-C", str(root), "init", "--device", "Triage")[0] == 0
    assert qms("deid", "keygen", str(key))[0] == 0
    write_synthetic_tree(src, 6, patients=2)
    return root, key, src


def _batch(out: Path) -> dict[str, object]:
    batch: dict[str, object] = manifest_of(out)["batches"][-1]
    return batch


@pytest.mark.xdist_group("ray")
def test_engine_option_runs_deid_and_verify_on_ray(project: tuple[Path, Path, Path], tmp_path: Path,
                                                    ray_engine: RayEngine) -> None:
    """`qms deid dicom --engine ray` records a Ray batch, and `qms deid verify --engine ray` checks every file."""
    root, key, src = project
    out = tmp_path / "out"
    code, text = qms("-C", str(root), "deid", "dicom", str(src), str(out), "--key-file", str(key), "--engine", "ray",
                     "--json")
    assert code == 0, text
    assert _batch(out)["engine"] == "ray"
    code, text = qms("-C", str(root), "deid", "verify", str(out), "--against", str(src), "--engine", "ray", "--json")
    assert code == 0, text
    assert json.loads(text)["files_checked"] == 6


@pytest.mark.xdist_group("ray")
def test_the_compute_table_chooses_ray_and_the_option_overrides_it(project: tuple[Path, Path, Path], tmp_path: Path,
                                                                    ray_engine: RayEngine) -> None:
    """`[tool.qms.compute] engine = "ray"` runs the batch on Ray; `--engine local` runs it locally over the table."""
    root, key, src = project
    with (root / "qms.toml").open("a", encoding="utf-8") as f:
        f.write('\n[tool.qms.compute]\nengine = "ray"\n')
    configured, overridden = tmp_path / "configured", tmp_path / "overridden"
    assert qms("-C", str(root), "deid", "dicom", str(src), str(configured), "--key-file", str(key))[0] == 0
    assert qms("-C", str(root), "deid", "dicom", str(src), str(overridden), "--key-file", str(key),
               "--engine", "local")[0] == 0
    assert (_batch(configured)["engine"], _batch(overridden)["engine"]) == ("ray", "local")


def test_the_local_engine_is_the_default(project: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """Without `--engine` or a compute table the batch runs on the local engine."""
    root, key, src = project
    out = tmp_path / "out"
    assert qms("-C", str(root), "deid", "dicom", str(src), str(out), "--key-file", str(key))[0] == 0
    assert _batch(out)["engine"] == "local"


def test_an_unknown_engine_exits_2_naming_the_option(project: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """`--engine spark` is a usage error (exit 2) that names --engine and the engines there are."""
    root, key, src = project
    code, text = qms("-C", str(root), "deid", "dicom", str(src), str(tmp_path / "out"), "--key-file", str(key),
                     "--engine", "spark")
    assert code == 2 and "--engine" in text and "local or ray" in text


def test_deid_uses_every_usable_core_unless_told(project: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """Without `--workers` a local batch runs one worker per usable core (the batch records how many);
    `--workers 1` runs it in this process, and more workers than cores are not started."""
    from qms.compute.local import usable_cores

    root, key, src = project
    for given, expected in (((), usable_cores()), (("--workers", "1"), 1), (("--workers", "64"), usable_cores())):
        out = tmp_path / f"out{len(given)}{given[-1] if given else ''}"
        code, text = qms("-C", str(root), "deid", "dicom", str(src), str(out), "--key-file", str(key), *given)
        assert code == 0, text
        assert (_batch(out)["engine"], _batch(out)["workers"]) == ("local", expected)
