"""Storage: a local folder listed as a stream in sorted order; a scheme without its package refused by name."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import fsspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms.compute.storage import Storage
from qms.errors import QmsError

_NAMES = st.sampled_from(["a", "a.txt", "a-b", "b", "B", "a0", "z.dcm", "_", "a b"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(paths=st.lists(st.lists(_NAMES, min_size=1, max_size=3), min_size=1, max_size=12))
def test_a_local_folder_lists_as_sorted_rglob(tmp_path_factory: pytest.TempPathFactory,
                                              paths: list[list[str]]) -> None:
    """A local folder's files are listed (one folder's names held at a time) in the order of `sorted(rglob)`,
    each once, folders left out."""
    root = tmp_path_factory.mktemp("tree")
    for parts in paths:
        target = root.joinpath(*parts)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"x")
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue  # a name this tree already uses as a file (or as a folder)
    expected = [p.relative_to(root).as_posix() for p in sorted(root.rglob("*")) if p.is_file()]
    assert list(Storage(str(root)).files()) == expected
    assert list(Storage(f"file://{root}").files()) == expected


def test_a_memory_url_reads_and_pickles(tmp_path: Path) -> None:
    """A `memory://` folder lists and reads its files through fsspec; its pickled form is the URL alone."""
    fs = fsspec.filesystem("memory")
    fs.pipe(f"/qms-storage-{tmp_path.name}/x/1.dcm", b"one")
    fs.pipe(f"/qms-storage-{tmp_path.name}/2.dcm", b"two")
    try:
        storage = Storage(f"memory://qms-storage-{tmp_path.name}")
        assert storage.is_dir() and list(storage.files()) == ["2.dcm", "x/1.dcm"]
        assert storage.read_bytes("x/1.dcm") == b"one"
        assert pickle.loads(pickle.dumps(storage)).read_bytes("2.dcm") == b"two"
    finally:
        fs.rm(f"/qms-storage-{tmp_path.name}", recursive=True)


def test_a_scheme_without_its_package_names_the_url_and_the_extra() -> None:
    """An s3:// URL without s3fs is refused naming the URL, the package and the `storage` extra."""
    if importlib.util.find_spec("s3fs") is not None:
        pytest.skip("s3fs is installed")
    with pytest.raises(QmsError, match="s3fs") as caught:
        Storage("s3://bucket/deid")
    assert "s3://bucket/deid" in str(caught.value) and "qmskit[storage]" in (caught.value.hint or "")
