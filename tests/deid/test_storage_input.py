"""`qms deid dicom` reads its input from a storage URL (fsspec's memory and file filesystems, for real)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import fsspec
import pytest
from typer.testing import CliRunner

from qms.cli.main import app
from qms.compute.local import LocalEngine
from qms.deid.keying import DeidKey
from qms.deid.manifest import MANIFEST
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.errors import QmsError
from qms.hashing import sha256_file
from tests.deid.manifests import manifest_of

pytestmark = pytest.mark.verifies("QMS-REQ-004")


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_memory_url_gives_the_local_folders_outputs(tmp_path: Path, tree: Path, key: DeidKey, workers: int) -> None:
    """The same files behind a `memory://` URL are de-identified into the same bytes and manifest entries as from
    the local folder, in this process and in a local pool (one bad file quarantined from the URL too)."""
    fs = fsspec.filesystem("memory")
    prefix = f"/qms-deid-{tmp_path.name}-{workers}"
    (tree / "bad.dcm").write_bytes(b"synthetic, not DICOM\n" * 8)
    for path in tree.rglob("*"):
        if path.is_file():
            fs.pipe(f"{prefix}/{path.relative_to(tree).as_posix()}", path.read_bytes())
    try:
        local, remote = tmp_path / "local", tmp_path / "remote"
        run_batch(tree, local, key, DeidOptions())
        report = run_batch(f"memory://{prefix.lstrip('/')}", remote, key, DeidOptions(), engine=LocalEngine(workers))
    finally:
        fs.rm(prefix, recursive=True)
    assert report.processed == 12 and [q.quarantine for q in report.quarantined] == ["bad.dcm"]
    assert _tree(remote) == _tree(local)
    assert manifest_of(remote)["files"] == manifest_of(local)["files"]
    assert (report.quarantine_dir / "bad.dcm").read_bytes() == (tree / "bad.dcm").read_bytes()


def test_the_cli_reads_a_file_url(project: Path, tmp_path: Path, tree: Path) -> None:
    """`qms deid dicom file:///…/in OUT` de-identifies the folder behind the URL; `--json` keeps its keys."""
    runner = CliRunner()
    key = tmp_path / "deid.key"
    assert runner.invoke(app, ["deid", "keygen", str(key)]).exit_code == 0
    out = tmp_path / "out"
    result = runner.invoke(app, ["-C", str(project), "deid", "dicom", f"file://{tree}", str(out), "--key-file",
                                 str(key), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["processed"], data["skipped"], data["manifest"]) == (12, 0, str(out / MANIFEST))
    assert set(data) == {"batch_id", "out", "manifest", "quarantine_folder", "processed", "skipped", "key_id",
                         "quarantined", "actions"}


def test_a_url_whose_package_is_missing_is_refused_before_any_work(tmp_path: Path, key: DeidKey) -> None:
    """An s3:// input without s3fs installed is refused naming the URL and the extra, before OUT is created."""
    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed")
    out = tmp_path / "out"
    with pytest.raises(QmsError, match="s3fs") as caught:
        run_batch("s3://bucket/studies", out, key, DeidOptions())
    assert caught.value.where == "s3://bucket/studies" and "qmskit[storage]" in (caught.value.hint or "")
    assert not out.exists()
