"""A tesseract that stays loaded: reads 8-bit grey images from stdin, writes their TSV to stdout, until stdin ends.

Run by `ocr_engine` as a child process (`python -I -S ocr_server.py`), standard library only, so it
starts in milliseconds. It loads libtesseract once, set up as `tesseract IMAGE - --psm 11 -c
tessedit_do_invert=0 tsv` is (page segmentation 11, no inversion, the resolution left to be
estimated as for a PNG without one), with OMP_THREAD_LIMIT=1 in its environment as the binary
gets. Messages, both ways: a request is rows and columns (two little-endian uint32) then the
pixels, row by row; an answer is a status byte (0 read, 1 failed), a length (uint32) and UTF-8 text.
The library's own diagnostics go to /dev/null.
"""

from __future__ import annotations

import ctypes
import struct
import sys
from typing import BinaryIO

LIBRARY = "libtesseract.so.5"
REQUEST = struct.Struct("<II")
ANSWER = struct.Struct("<BI")
_SPARSE_TEXT = 11
_VARIABLES = ((b"debug_file", b"/dev/null"), (b"tessedit_do_invert", b"0"))


def _load() -> tuple[ctypes.CDLL, int]:
    p, s, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    lib = ctypes.CDLL(LIBRARY)
    for name, restype, argtypes in (
        ("TessBaseAPICreate", p, []), ("TessBaseAPIInit3", i, [p, s, s]), ("TessBaseAPISetPageSegMode", None, [p, i]),
        ("TessBaseAPISetVariable", i, [p, s, s]), ("TessBaseAPISetImage", None, [p, p, i, i, i, i]),
        ("TessBaseAPIGetTsvText", p, [p, i]), ("TessBaseAPIClear", None, [p]), ("TessDeleteText", None, [p]),
        ("TessBaseAPIEnd", None, [p]), ("TessBaseAPIDelete", None, [p]),
    ):
        function = getattr(lib, name)
        function.restype, function.argtypes = restype, argtypes
    api = lib.TessBaseAPICreate()
    for variable, value in _VARIABLES:  # debug_file first: Init's own messages go there too
        lib.TessBaseAPISetVariable(api, variable, value)
    if lib.TessBaseAPIInit3(api, None, b"eng") != 0:
        raise RuntimeError("tesseract could not load its English model (eng.traineddata)")
    lib.TessBaseAPISetPageSegMode(api, _SPARSE_TEXT)
    for variable, value in _VARIABLES:
        lib.TessBaseAPISetVariable(api, variable, value)
    return lib, int(api)


def _answer(out: BinaryIO, status: int, text: bytes) -> None:
    out.write(ANSWER.pack(status, len(text)) + text)
    out.flush()


def _read_exactly(source: BinaryIO, size: int) -> bytes | None:
    data = source.read(size)
    return data if len(data) == size else None


def serve(source: BinaryIO, out: BinaryIO) -> None:
    """Answer every request on `source` until it ends; a failure to load is the first answer, then the end."""
    try:
        lib, api = _load()
    except (OSError, RuntimeError) as exc:
        _answer(out, 1, str(exc).encode())
        return
    _answer(out, 0, b"ready")
    while (header := _read_exactly(source, REQUEST.size)) is not None:
        rows, columns = REQUEST.unpack(header)
        pixels = _read_exactly(source, rows * columns)
        if pixels is None:
            break
        buffer = ctypes.create_string_buffer(pixels, len(pixels))
        lib.TessBaseAPISetImage(api, ctypes.addressof(buffer), columns, rows, 1, columns)
        text = lib.TessBaseAPIGetTsvText(api, 0)
        lib.TessBaseAPIClear(api)
        if not text:
            _answer(out, 1, b"tesseract could not read the image")
            continue
        _answer(out, 0, ctypes.string_at(text))
        lib.TessDeleteText(text)
    lib.TessBaseAPIEnd(api)
    lib.TessBaseAPIDelete(api)


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
