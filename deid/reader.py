"""One file's bytes to de-identified bytes, or a `MalformedInput` saying why not.

Every failure, of parsing, header cleaning, pixel cleaning or writing, becomes a
`MalformedInput` with its reason: the pipeline quarantines the file and never writes a part.
That holds whatever the third-party code raises: pylibjpeg-rle's decoder panics on some
malformed RLE data with pyo3's PanicException, a BaseException; only KeyboardInterrupt and
SystemExit (the user's or the process's own decision) pass through.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    AllTransferSyntaxes,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    MediaStorageDirectoryStorage,
)

from qms.deid.dataset import DatasetReport, Deidentifier
from qms.deid.method import record_method
from qms.deid.peek import assign, canonical_uid, element_at, peek_value, transfer_syntax, uid_as_written
from qms.deid.pixels import PixelError, PixelOptions, clean_pixels
from qms.deid.profile import ProfileOption
from qms.deid.writer import write_file
from qms.errors import QmsError

__all__ = ["Deidentified", "MalformedInput", "deidentify_bytes", "parse"]

_KNOWN_SYNTAXES = frozenset(AllTransferSyntaxes)
_PASS_THROUGH = (KeyboardInterrupt, SystemExit)
_UNDEFINED = 0xFFFFFFFF
_SOP_CLASS, _SOP_INSTANCE = 0x00080016, 0x00080018
_MEDIA_CLASS, _TRANSFER_SYNTAX = 0x00020002, 0x00020010
_IMPLEMENTATION_CLASS, _IMPLEMENTATION_VERSION = 0x00020012, 0x00020013


class MalformedInput(QmsError):
    """The file cannot be de-identified safely as it is; it goes to quarantine with this reason."""


@dataclass(frozen=True)
class Deidentified:
    data: bytes
    report: DatasetReport
    pixels: dict[str, Any] | None


def parse(data: bytes) -> FileDataset:
    """Parse a DICOM Part 10 file strictly enough to de-identify it (PS3.10 §7.1)."""
    if len(data) < 132 or data[128:132] != b"DICM":
        raise MalformedInput("no 128-byte preamble and 'DICM' prefix: not a DICOM Part 10 file (PS3.10 §7.1)",
                             hint="only DICOM Part 10 files are de-identified")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ds = dcmread(BytesIO(data))
    except _PASS_THROUGH:
        raise
    except BaseException as exc:  # pydicom raises many kinds on broken input; every one means quarantine
        raise MalformedInput(f"cannot be parsed: {type(exc).__name__}: {exc}") from exc
    for warning in caught:
        if "end of file" in str(warning.message).lower():
            raise MalformedInput(f"truncated: {warning.message}")
    ts = transfer_syntax(ds.file_meta)
    if ts is None or str(ts) not in _KNOWN_SYNTAXES:
        raise MalformedInput(f"unknown transfer syntax {ts!s}", where="(0002,0010) TransferSyntaxUID",
                             hint="only the transfer syntaxes of PS3.5 §10 are read")
    if ts != DeflatedExplicitVRLittleEndian:  # a deflated file's offsets are of the inflated stream
        _check_complete(ds, len(data))
    meta = ds.file_meta
    media_class = uid_as_written(meta, _MEDIA_CLASS)
    if media_class == MediaStorageDirectoryStorage:
        raise MalformedInput("a DICOMDIR names its files by their original paths, which may hold identifiers",
                             where="(0004,1500) ReferencedFileID",
                             hint="build a new DICOMDIR over the de-identified files")
    if not _has_uid(ds, _SOP_CLASS) or not _has_uid(ds, _SOP_INSTANCE):  # read, left raw for the writer
        raise MalformedInput("no SOP Class UID or SOP Instance UID: not a composite instance (PS3.10 §7.1)",
                             where="(0008,0016) SOPClassUID")
    if not media_class:
        meta.MediaStorageSOPClassUID = peek_value(ds, _SOP_CLASS)  # PS3.10 §7.1: the file meta repeats the SOP Class
    return ds


def _has_uid(ds: Dataset, tag: int) -> bool:
    """Whether a UI attribute has a value, read from its bytes where they are plain, else from a converted copy."""
    raw = element_at(ds, tag)
    uid = canonical_uid(raw) if type(raw) is RawDataElement else None
    return bool(uid if uid is not None else peek_value(ds, tag))


def _check_complete(ds: FileDataset, size: int) -> None:
    """pydicom reads a value, or an element header, cut short by the end of the file without complaint;
    so a value must fit in the file, and the last element (when still raw) must end where the file does."""
    last = None
    for raw in ds.values():  # as stored: a raw element is not converted
        if isinstance(raw, RawDataElement) and raw.length != _UNDEFINED and raw.value_tell + raw.length > size:
            raise MalformedInput(f"truncated: the value of {raw.tag} needs {raw.length} bytes, the file ends "
                                 f"{size - raw.value_tell} bytes after it starts", where=str(raw.tag))
        last = raw
    # An undefined-length last element is parsed already (its end delimiter was found, or pydicom warned).
    if isinstance(last, RawDataElement) and last.length != _UNDEFINED and last.value_tell + last.length != size:
        raise MalformedInput(f"truncated: {size - last.value_tell - last.length} byte(s) after the last complete "
                             "element", where="end of file")


def deidentify_bytes(data: bytes, engine: Deidentifier, pixel_options: PixelOptions,
                     writer: Callable[[Dataset], bytes] = write_file) -> Deidentified:
    """De-identify one file's bytes: pixels (on the original header's rules), header, method attributes.

    `writer` encodes the result; tests pass `pydicom.dcmwrite`'s to show `write_file` writes the same."""
    try:
        ds = parse(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixels = None
            cleaned = False
            if engine.options.has(ProfileOption.CLEAN_PIXEL_DATA):
                deflated = transfer_syntax(ds.file_meta) == DeflatedExplicitVRLittleEndian
                pixel_report = clean_pixels(ds, pixel_options, None if deflated else data)
                pixels = pixel_report.to_json()
                cleaned = pixel_report.clean_pixel_data
                if pixel_report.transfer_syntax is not None:
                    assign(ds.file_meta, _TRANSFER_SYNTAX, pixel_report.transfer_syntax)
            report = engine.deidentify(ds)
            meta = ds.file_meta
            syntax = transfer_syntax(meta)
            record_method(ds, engine.options, pixels_cleaned=cleaned, implicit_vr=syntax == ImplicitVRLittleEndian,
                          little_endian=syntax != ExplicitVRBigEndian)
            assign(meta, _IMPLEMENTATION_CLASS, PYDICOM_IMPLEMENTATION_UID)  # PS3.7 §D.3.3.2: the writer's
            assign(meta, _IMPLEMENTATION_VERSION, "QMSKIT_DEID")
            out = writer(ds)
    except MalformedInput:
        raise
    except PixelError as exc:
        raise MalformedInput(exc.message, where=exc.where, hint=exc.hint) from exc
    except _PASS_THROUGH:
        raise
    except BaseException as exc:  # a value pydicom cannot convert or write, a decoder's panic: quarantine
        raise MalformedInput(f"cannot be de-identified: {type(exc).__name__}: {exc}") from exc
    return Deidentified(out, report, pixels)
