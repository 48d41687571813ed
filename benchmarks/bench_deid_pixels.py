"""Pixel cleaning throughput: masked 512x512 16-bit images per second, with and without OCR.

    python benchmarks/bench_deid_pixels.py [--images 200] [--ocr-images 6] [--search-images 200]

Cases, each on a fresh copy of the same synthetic radiograph (12 bits stored):
- rule: a region-library rule matches (GE 512x512 screen capture); native masking only.
- rle: the same image RLE Lossless; decoded, masked, re-encoded and checked by decoding.
- ocr: BurnedInAnnotation YES with a burned-in synthetic name; tesseract finds and masks it,
  then a second pass confirms (two tesseract runs per image).
- search: the text search alone (`search_text`, as the cleaner and `verify` run it) on 192 and 256 px
  CT-like slices of tests/deid_pixels/tilted.py, half without text and half with a tilted or faint
  label; CPU time of this process per image (median), clean and labelled reported apart.
Baselines measured in the same run: the same rectangle blanked the usual pydicom way
(`ds.pixel_array`, numpy assignment, `PixelData = arr.tobytes()`), and one bare tesseract
run over the image. Wall-clock medians per image (tesseract runs in a child process).
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the slices' generator lives under tests/

from qms.deid.pixels import OcrMode, PixelOptions, clean_pixels  # noqa: E402
from qms.deid.pixels.layout import PixelLayout  # noqa: E402
from qms.deid.pixels.textsearch import search_text  # noqa: E402
from qms.synthetic_dicom import synthetic_image  # noqa: E402
from tests.deid_pixels.tilted import clean_slice, labelled_slice  # noqa: E402

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def radiograph(text: str | None) -> Dataset:
    """A synthetic 512x512 chest-like image; `text` is burned in at the top left at the maximum value."""
    yy, xx = np.mgrid[0:512, 0:512]
    body = 1400 + 1300 * np.exp(-((xx - 256) ** 2 / (2 * 130.0**2) + (yy - 280) ** 2 / (2 * 170.0**2)))
    image = body + np.random.default_rng(1).normal(0, 50, body.shape)
    if text:
        layer = Image.new("L", (512, 512), 0)
        ImageDraw.Draw(layer).text((24, 18), text, fill=255, font=ImageFont.truetype(FONT, 18))
        image[np.asarray(layer) > 100] = 4095
    return synthetic_image(np.clip(image, 0, 4095).astype(np.uint16), bits_stored=12,
                           attributes={"Manufacturer": "GE MEDICAL SYSTEMS", "BurnedInAnnotation": "YES"})


def per_image(action: Callable[[Dataset], object], template: Dataset, n: int) -> float:
    """Median wall seconds of `action` on a fresh deep copy (the copy is not timed)."""
    times = []
    for _ in range(n):
        ds = copy.deepcopy(template)
        start = time.perf_counter()
        action(ds)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def search_cpu(images: list[Dataset]) -> float:
    """Median CPU seconds of one text search per image (the layout read included)."""
    times = []
    for ds in images:
        start = time.process_time()
        search_text(ds, PixelLayout.from_dataset(ds))
        times.append(time.process_time() - start)
    return statistics.median(times)


def slices(n: int, labelled: bool) -> list[Dataset]:
    """`n` CT-like slices of 192 and 256 px, with a label (tilted and saturated, or faint at one value) or none."""
    if not labelled:
        return [clean_slice(seed, size, size) for seed in range(n) for size in (192, 256)][:n]
    return [labelled_slice(seed, size, size, drawn="saturated" if seed % 2 else "flat").ds
            for seed in range(n) for size in (192, 256)][:n]


def naive_mask(ds: Dataset) -> None:
    """The baseline: decode to an array, blank the rule's rectangle, store the bytes back."""
    arr = ds.pixel_array.copy()
    arr[0:25, 0:512] = 0
    ds.PixelData = arr.tobytes()


def bare_tesseract(ds: Dataset) -> None:
    import pytesseract

    arr = ds.pixel_array.astype(np.float64)
    grey = ((arr - arr.min()) * (255.0 / (arr.max() - arr.min()))).astype(np.uint8)
    pytesseract.image_to_data(Image.fromarray(255 - grey), config="--psm 11")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--ocr-images", type=int, default=6)
    parser.add_argument("--search-images", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    off = PixelOptions(ocr=OcrMode.OFF)
    plain = radiograph(None)
    rle = copy.deepcopy(plain)
    rle.compress(RLELossless, generate_instance_uid=False)
    named = radiograph("DOE^JANE 19650412")  # synthetic PHI
    named.Manufacturer = "SYNTHETIC"

    rule = per_image(lambda ds: clean_pixels(ds, off), plain, args.images)
    naive = per_image(naive_mask, plain, args.images)
    rle_s = per_image(lambda ds: clean_pixels(ds, off), rle, max(args.images // 4, 5))
    ocr = per_image(lambda ds: clean_pixels(ds, PixelOptions()), named, args.ocr_images)
    tess = per_image(bare_tesseract, named, args.ocr_images)
    search_text(plain, PixelLayout.from_dataset(plain))  # scipy's import is not the search's cost
    search_clean = search_cpu(slices(args.search_images, labelled=False))
    search_labelled = search_cpu(slices(args.search_images, labelled=True))
    check = copy.deepcopy(named)
    report = clean_pixels(check, PixelOptions())

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; python {platform.python_version()}")
    print(f"rule (native, 1 rectangle)      {1 / rule:10.1f} images/s   ({rule * 1e3:.2f} ms)")
    print(f"  baseline pixel_array+tobytes  {1 / naive:10.1f} images/s   ({naive * 1e3:.2f} ms)  qms/baseline time {rule / naive:.2f}x")
    print(f"rle (decode, mask, re-encode)   {1 / rle_s:10.1f} images/s   ({rle_s * 1e3:.2f} ms)")
    print(f"ocr (detect, mask, re-check)    {1 / ocr:10.2f} images/s   ({ocr * 1e3:.0f} ms)")
    print(f"  baseline one tesseract run    {1 / tess:10.2f} images/s   ({tess * 1e3:.0f} ms)  qms/baseline time {ocr / tess:.2f}x")
    print(f"ocr result: {len(report.regions)} regions, BurnedInAnnotation {report.burned_in_annotation}")
    print(f"search (192-256 px, CPU/image)  clean {search_clean * 1e3:.2f} ms, labelled {search_labelled * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
