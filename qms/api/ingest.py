"""A request body to DICOM instances: one `application/dicom` file, or a study as DICOMweb STOW-RS multipart.

PS3.18 §10.5 (Store Transaction): the body is `multipart/related; type="application/dicom"`
with one DICOM instance (PS3.10 file) per part. Every problem is an `IngestError` naming the
part and what is wrong; no part is trusted before pydicom has parsed it.
"""

from __future__ import annotations

import base64
import binascii
import email.message
import email.parser
import email.policy
import io
import quopri
from dataclasses import dataclass

import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.utils import get_expected_length

from qms.errors import QmsError

__all__ = ["DICOM", "IngestError", "Instance", "parse_body"]

DICOM = "application/dicom"


class IngestError(QmsError):
    """The request does not carry DICOM the service can read (answered 4xx with `status`)."""

    def __init__(self, message: str, *, where: str, status: int = 400, hint: str | None = None) -> None:
        super().__init__(message, where=where, hint=hint)
        self.status = status


@dataclass(frozen=True)
class Instance:
    """One DICOM instance of the request: its bytes and the parsed dataset."""

    data: bytes
    dataset: Dataset


def _instance(data: bytes, where: str) -> Instance:
    if not data:
        raise IngestError("the DICOM part is empty", where=where)
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except InvalidDicomError as exc:
        raise IngestError(f"not a DICOM file (PS3.10): {exc}", where=where) from exc
    except (ValueError, EOFError, OSError, KeyError, TypeError) as exc:
        raise IngestError(f"the DICOM file is truncated or malformed: {exc}", where=where) from exc
    if "PixelData" not in ds:
        raise IngestError("the DICOM instance has no Pixel Data (or was cut off before it)", where=f"{where} (7FE0,0010)",
                          hint="send image instances only")
    _check_pixel_length(ds, where)
    return Instance(data, ds)


def _check_pixel_length(ds: Dataset, where: str) -> None:
    """Native (uncompressed) Pixel Data must be as long as the image attributes say (PS3.5 §8.1.1)."""
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None or syntax.is_compressed:
        return
    try:
        expected = int(get_expected_length(ds, "bytes"))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise IngestError(f"the image pixel module is incomplete: {exc}", where=f"{where} (0028,xxxx)") from exc
    found = len(ds.PixelData)
    if found < expected:
        raise IngestError(f"Pixel Data has {found} bytes; Rows, Columns, Samples, Bits Allocated and frames need "
                          f"{expected} (the file is truncated)", where=f"{where} (7FE0,0010)")


def _content_type(value: str) -> email.message.Message:
    """A Content-Type value, for its type and parameters (quoted or not)."""
    header = email.message.Message()
    header["content-type"] = value
    return header


def _parts(content_type: str, body: bytes) -> list[bytes]:
    """The bodies of a multipart/related message, each declared application/dicom (PS3.18 §8.6.1.2).

    The body is split at its delimiter lines on the bytes (RFC 2046 §5.1.1: CRLF, "--", the boundary;
    the close delimiter adds "--"); only each part's headers go through the email package, whose
    parser reads a body line by line (~2 ms of CPU per 33 KB image).
    """
    boundary = _content_type(content_type).get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        raise IngestError("the multipart Content-Type names no boundary", where="Content-Type")
    parts = []
    for index, section in enumerate((b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))[1:], start=1):
        if section.startswith(b"--"):  # the close delimiter: what follows is the epilogue
            break
        padding, _, rest = section.partition(b"\r\n")
        if padding.strip(b" \t") or b"\r\n\r\n" not in b"\r\n" + rest:
            raise IngestError(f"part {index} is malformed: no headers and blank line after its boundary",
                              where=f"part {index}")
        headers, _, payload = (b"\r\n" + rest).partition(b"\r\n\r\n")
        part = email.parser.BytesHeaderParser(policy=email.policy.HTTP).parsebytes(headers.lstrip(b"\r\n") + b"\r\n")
        kind = part.get_content_type()
        if kind != DICOM:
            raise IngestError(f"part {index} is {kind}, not {DICOM}", where=f"part {index}", status=415)
        parts.append(_decoded(payload, str(part.get("Content-Transfer-Encoding", "binary")).strip().lower(), index))
    if not parts:
        raise IngestError("the multipart body has no parts (is the boundary right?)", where="request body")
    return parts


def _decoded(payload: bytes, encoding: str, index: int) -> bytes:
    """A part's content under its Content-Transfer-Encoding (RFC 2045 §6; DICOMweb sends binary)."""
    try:
        if encoding == "base64":
            return base64.b64decode(payload)
        if encoding == "quoted-printable":
            return quopri.decodestring(payload)
    except (ValueError, binascii.Error) as exc:
        raise IngestError(f"part {index} is not valid {encoding}: {exc}", where=f"part {index}") from exc
    return payload


def parse_body(content_type: str, body: bytes) -> list[Instance]:
    """The request's DICOM instances, in the order sent."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == DICOM:
        return [_instance(body, "request body")]
    if kind == "multipart/related":
        declared = _content_type(content_type).get_param("type")
        if declared is not None and str(declared).lower() != DICOM:
            raise IngestError(f'multipart/related of type "{declared}": only type="{DICOM}" is accepted',
                              where="Content-Type", status=415)
        return [_instance(data, f"part {i}") for i, data in enumerate(_parts(content_type, body), start=1)]
    raise IngestError(f"Content-Type {kind or '(none)'} is not accepted", where="Content-Type", status=415,
                      hint=f'send {DICOM}, or multipart/related; type="{DICOM}" (DICOMweb STOW-RS)')
