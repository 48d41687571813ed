"""Writing test datasets: with pydicom's own writer, and with `write_file` after a minimal file meta."""

from __future__ import annotations

from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.filewriter import dcmwrite

from qms.deid.writer import write_file
from qms.synthetic_dicom import synthetic_meta


def dcmwritten(ds: Dataset) -> bytes:
    """The Part 10 file `pydicom.dcmwrite` writes: the reference the fast writer is compared with."""
    buffer = BytesIO()
    dcmwrite(buffer, ds, enforce_file_format=True)
    return buffer.getvalue()


def written_after_preamble(ds: Dataset) -> bytes:
    """What `write_file` writes after the preamble and "DICM", `ds` given an explicit VR little endian file meta."""
    ds.file_meta = synthetic_meta("1.2.3", "1.2.3.4")
    return write_file(ds)[132:]
