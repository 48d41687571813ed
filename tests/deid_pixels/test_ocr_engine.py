"""tesseract kept loaded in a child process reads what its binary reads: quietly, in threads and forks, and fails clearly."""

from __future__ import annotations

import multiprocessing
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from qms.deid.pixels import PixelOptions, clean_pixels, ocr, ocr_engine
from qms.errors import QmsError
from tests.deid_pixels.synthetic import native, text_page as _page

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(shutil.which("tesseract") is None or not ocr_engine.available(), reason="tesseract-ocr is not installed"),
]
BINARY = PixelOptions(tesseract_cmd="tesseract")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("scale", [1, 2])
def test_the_library_reads_the_words_the_binary_reads(seed: int, scale: int) -> None:
    """Every word, box, confidence and letter count equals the `tesseract` binary's, page after page in one engine."""
    page = _page(seed)
    library = ocr._read(page, scale, PixelOptions())
    assert library == ocr._read(page, scale, BINARY)
    assert library, "nothing was read: the comparison would prove nothing"


def test_the_library_writes_nothing_to_the_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    """The library's diagnostics ("Estimating resolution as ...") stay out of the user's terminal and logs."""
    ocr._read(_page(7), 2, PixelOptions())
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def _words_in_thread(page: np.ndarray, results: list[object]) -> None:
    results.append(ocr._read(page, 1, PixelOptions()))


def test_threads_each_get_their_own_engine_and_the_same_words() -> None:
    """Threads reading at once (the API service's workers) get their own engine: no shared state, the same words."""
    page, results = _page(3), []  # type: ignore[var-annotated]
    threads = [threading.Thread(target=_words_in_thread, args=(page, results)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(r == results[0] for r in results) and results[0]


def _words_in_child(page: np.ndarray, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put(ocr._read(page, 1, PixelOptions()))


def test_a_forked_worker_reads_with_its_own_engine() -> None:
    """A worker forked after the parent loaded an engine (the local pool) reads the same words with its own."""
    page = _page(4)
    expected = ocr._read(page, 1, PixelOptions())
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_words_in_child, args=(page, queue))
    child.start()
    got = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0 and got == expected


def test_without_the_library_the_binary_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the library is not installed the binary is used, and detection still runs."""
    monkeypatch.setattr(ocr_engine, "available", lambda: False)
    assert not ocr_engine.available() and ocr.unavailable_reason(PixelOptions()) is None
    page = _page(0)
    assert ocr._read(page, 1, PixelOptions()) == ocr._read(page, 1, BINARY)
    image = np.zeros((1, 256, 256), dtype=np.uint16)
    image[0, 20:36, 20:200] = 4095
    report = clean_pixels(native(image, bits_stored=12, Modality="SC"), PixelOptions())
    assert report.ocr_ran


def test_without_library_or_binary_detection_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the library nor a binary: text detection is unavailable, with the reason, never silently skipped."""
    monkeypatch.setattr(ocr_engine, "available", lambda: False)
    reason = ocr.unavailable_reason(PixelOptions(tesseract_cmd="/nonexistent/tesseract"))
    assert reason is not None and "/nonexistent/tesseract" in reason


def test_a_reader_that_was_killed_is_replaced() -> None:
    """A reader that died between images (killed, out of memory) is started again for the next image."""
    page = _page(5)
    expected = ocr._read(page, 1, PixelOptions())
    assert ocr_engine._running is not None
    ocr_engine._running[1].kill()
    ocr_engine._running[1].wait()
    assert ocr._read(page, 1, PixelOptions()) == expected


def test_a_reader_that_dies_mid_image_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """tesseract crashing on an image ends that read with an error naming it, not the process; the next read restarts."""
    dying = tmp_path / "dying_server.py"
    dying.write_text("import struct, sys\n"
                     "sys.stdout.buffer.write(struct.pack('<BI', 0, 5) + b'ready'); sys.stdout.buffer.flush()\n"
                     "sys.stdin.buffer.read(8)\n", encoding="utf-8")
    _stop_current()
    monkeypatch.setattr(ocr_engine, "_SERVER", dying)
    with pytest.raises(QmsError, match="tesseract stopped while reading an image"):
        ocr_engine.read_tsv(_page(1))
    assert ocr_engine._running is None
    monkeypatch.undo()
    assert ocr._read(_page(1), 1, PixelOptions()) == ocr._read(_page(1), 1, BINARY)


def test_a_missing_english_model_is_named_with_its_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without eng.traineddata the reader refuses to start and says which package holds the model."""
    _stop_current()
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    with pytest.raises(QmsError, match="eng.traineddata") as error:
        ocr_engine.read_tsv(_page(2))
    assert "tesseract-ocr-eng" in (error.value.hint or "")
    assert ocr_engine._running is None


def test_the_reader_ends_with_this_process() -> None:
    """The reader is stopped at this process's exit: no tesseract is left running."""
    ocr._read(_page(6), 1, PixelOptions())
    assert ocr_engine._running is not None
    server = ocr_engine._running[1]
    ocr_engine._stop_own()
    assert server.poll() == 0


def _stop_current() -> None:
    if ocr_engine._running is not None:
        ocr_engine._stop_own()
        ocr_engine._running = None
