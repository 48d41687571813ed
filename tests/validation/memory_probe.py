"""Run by test_datasetstream in a fresh process: the peak of Python allocations of one streamed `dataset create`.

    python memory_probe.py ROWS FOLDER   -> prints the traced peak in bytes

ROWS listed files, all one synthetic header (qms.synthetic_dicom) in fsspec's memory
filesystem, listed in reverse file order so the external sort runs; runs, chunks and row groups
are made small so that both sizes the test compares span many of each.
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path


def main(rows: int, folder: Path) -> int:
    import fsspec
    import numpy as np

    from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image
    from qms.validation import datasetstream, filetable

    datasetstream.RUN, datasetstream.CHUNK, filetable.ROW_GROUP = 200, 100, 200
    folder.mkdir(parents=True)
    synthetic_image(np.zeros((8, 8), np.uint16), bits_stored=12, uids=SyntheticUids("1.2.3.1", study="1.2.3"),
                    patient=SyntheticPatient("P1", sex="F", age="050Y"),
                    attributes={"Manufacturer": "ACME"}).save_as(folder / "one.dcm", enforce_file_format=True)
    data = (folder / "one.dcm").read_bytes()
    fs = fsspec.filesystem("memory")
    labels = folder / "labels.csv"
    with labels.open("w") as f:
        f.write("file,split,finding,site\n")
        for i in reversed(range(rows)):
            fs.pipe(f"/probe/d{i // 1000:03d}/f{i:06d}.dcm", data)
            f.write(f"d{i // 1000:03d}/f{i:06d}.dcm,test,{i % 2},site-{i % 5}\n")
    for path in fs.find("/probe"):
        fs.cat_file(path)  # the memory filesystem copies a file's bytes on its first read: done before counting
    warm = folder / "warm.csv"  # one small run first, so that lazy imports and caches are not counted
    warm.write_text("".join(labels.read_text().splitlines(keepends=True)[:3]))
    datasetstream.create_file_table("memory://probe", warm, folder / "warm.parquet", split=None, name="probe")
    tracemalloc.start()
    table = datasetstream.create_file_table("memory://probe", labels, folder / "m.parquet", split=None, name="probe")
    _, peak = tracemalloc.get_traced_memory()
    assert table.files == rows
    return peak


if __name__ == "__main__":
    print(main(int(sys.argv[1]), Path(sys.argv[2])))
