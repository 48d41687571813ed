"""tesseract kept loaded in a child process for the life of this one: a page costs its reading, not a model load.

Each start of the `tesseract` binary spends ~0.1 CPU-s loading eng.traineddata before it reads a
word, two thirds of a page's cost; a batch of secondary captures paid it for every image. The child
(`ocr_server`) runs the library the binary runs, set up as the binary is, so it reads the same
words with the same boxes and confidences (tests/deid_pixels/test_ocr_engine.py). A child and not
the library in this process: tesseract starts OpenMP teams that would share torch's runtime (both
are `libgomp.so.1`) and hang a worker forked after them, and a crash of tesseract ends one read
with an error instead of the whole batch. One child per process (a forked worker starts its own);
threads take turns.
"""

from __future__ import annotations

import atexit
import ctypes.util
import os
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path
from typing import IO

import numpy as np
from numpy.typing import NDArray

from qms.deid.pixels import ocr_server
from qms.errors import QmsError

__all__ = ["available", "read_tsv"]

_SERVER = Path(ocr_server.__file__)
_lock = threading.Lock()
_running: tuple[int, subprocess.Popen[bytes]] | None = None


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether the tesseract library is installed (looked up, not loaded: loading it is the child's job)."""
    return ctypes.util.find_library("tesseract") is not None


def _read_answer(server: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    stdout: IO[bytes] = server.stdout  # type: ignore[assignment]
    head = stdout.read(ocr_server.ANSWER.size)
    if len(head) != ocr_server.ANSWER.size:
        raise EOFError
    status, length = ocr_server.ANSWER.unpack(head)
    text = stdout.read(length)
    if len(text) != length:
        raise EOFError
    return status, text


def _start() -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-I", "-S", str(_SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    try:
        status, text = _read_answer(server)
    except EOFError:
        status, text = 1, b"the tesseract reader ended before it was ready"
    if status != 0:
        _stop(server)
        raise QmsError(text.decode("utf-8", errors="replace"), where=ocr_server.LIBRARY,
                       hint="install the Debian packages tesseract-ocr and tesseract-ocr-eng")
    return server


def _server() -> subprocess.Popen[bytes]:
    """This process's reader, started on first use (an inherited one belongs to the parent and is left alone)."""
    global _running
    if _running is None or _running[0] != os.getpid() or _running[1].poll() is not None:
        _running = (os.getpid(), _start())
    return _running[1]


def _stop(server: subprocess.Popen[bytes]) -> None:
    for stream in (server.stdin, server.stdout):
        if stream is not None:
            stream.close()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@atexit.register
def _stop_own() -> None:
    if _running is not None and _running[0] == os.getpid():
        _stop(_running[1])


def read_tsv(grey: NDArray[np.uint8]) -> str:
    """tesseract's TSV of an 8-bit grey image (its columns, without the header row), as the binary prints it."""
    global _running
    pixels = np.ascontiguousarray(grey, dtype=np.uint8)
    rows, columns = pixels.shape
    with _lock:
        server = _server()
        try:
            server.stdin.write(ocr_server.REQUEST.pack(rows, columns) + pixels.tobytes())  # type: ignore[union-attr]
            server.stdin.flush()  # type: ignore[union-attr]
            status, text = _read_answer(server)
        except (BrokenPipeError, EOFError) as exc:
            _running = None
            _stop(server)
            raise QmsError("tesseract stopped while reading an image", where=ocr_server.LIBRARY,
                           hint="run again; if it repeats, report the image's file") from exc
    if status != 0:
        raise QmsError(text.decode("utf-8", errors="replace"), where=ocr_server.LIBRARY)
    return text.decode("utf-8", errors="replace")
