"""Score `qms deid dicom` and `qms deid verify` on the held-out corpus of `corpus.py`: per category, the share
of planted values removed (recall) and, of those that survived, the share verify flags at their element.

A value survives when one of its needles is still in its element's output value (whole word, any case; "90+"
is the category an age over 89 becomes, not the age); drawn text (burned-in, icon) when its strokes still stand
out from their bounding box by more than half their first contrast (a masked box is uniform); an overlay's text
when most of its bits are still set. A survivor is flagged when verify reports a leak in its output file at the
planted element's top-level tag (the pixel data for burned-in text). A survivor verify calls clean is the worst
case.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.verify import VerifyReport, verify
from tests.deid.manifests import manifest_of
from tests.deid_heldout.corpus import Planted, generate

KEY = DeidKey(b"deid-heldout-2-key-32-bytes-long")
_PIXEL_TAG = {"burned_in": "(7FE0,0010)", "overlay": "(6000,3000)", "icon": "(0088,0200)"}


@dataclass(frozen=True)
class Outcome:
    """One planted value's fate."""

    planted: Planted
    survived: bool
    flagged: bool


def _tag(name: str) -> int:
    if name.startswith("("):
        return int(name[1:5] + name[6:10], 16)
    tag = tag_for_keyword(name)
    assert tag is not None, name
    return int(tag)


def _steps(path: str) -> list[tuple[int, int | None]]:
    """`A[0].B[1].C` as (tag, item index) steps; `PixelData[style]` as the pixel data tag."""
    steps = []
    for part in path.split("."):
        name, _, rest = part.partition("[")
        index = rest.rstrip("]")
        steps.append((_tag(name), int(index) if index.isdigit() else None))
    return steps


def _element_value(ds: Dataset, path: str) -> object | None:
    """The value at a planted path in an output dataset, None when any step is gone."""
    node: Dataset = ds
    steps = _steps(path)
    for tag, index in steps[:-1]:
        elem = node.get(tag)
        if elem is None or index is None or not elem.value or len(elem.value) <= index:
            return None
        node = elem.value[index]
    elem = node.get(steps[-1][0])
    return None if elem is None else elem.value


def _as_text(value: object) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "ignore")
    if isinstance(value, (list, tuple, MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value)


def _text_survives(ds: Dataset, p: Planted) -> bool:
    value = _element_value(ds, p.path)
    if value is None:
        return False
    text = _as_text(value).lower()
    return any(re.search(rf"(?<!\w){re.escape(n.lower())}(?![\w+])", text) for n in p.needles)


def _drawn_survives(src: Dataset, out: Dataset, p: Planted) -> bool:
    assert p.stroke is not None
    if p.where == "overlay":
        if 0x60003000 not in out:
            return False
        bits = np.unpackbits(np.frombuffer(out[0x60003000].value, np.uint8), bitorder="little")
        plane = bits[: p.stroke.size].reshape(p.stroke.shape).astype(bool)
        return bool(plane[p.stroke].mean() > 0.5)
    if p.where == "icon":
        if "IconImageSequence" not in out:
            return False
        before, after = src.IconImageSequence[0].pixel_array, out.IconImageSequence[0].pixel_array
    else:
        if "PixelData" not in out:
            return False
        before, after = src.pixel_array, out.pixel_array
    if before.shape != after.shape:
        return False
    return _contrast(after, p.stroke) > 0.5 * _contrast(before, p.stroke)


def _contrast(image: np.ndarray, stroke: np.ndarray) -> float:
    """How far the strokes stand out from the rest of their bounding box (0 once the box is filled)."""
    ys, xs = np.nonzero(stroke)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    pixels, inside = image[box].astype(float), stroke[box]
    if inside.all():
        return 0.0
    return abs(float(pixels[inside].mean()) - float(np.median(pixels[~inside])))


def _outputs(src: Path, out: Path) -> dict[str, Path]:
    manifest = manifest_of(out)
    by_digest = {f["input_sha256"]: out / f["output"] for f in manifest["files"] if f.get("output")}
    return {p.name: by_digest[d] for p in src.iterdir()
            if (d := hashlib.sha256(p.read_bytes()).hexdigest()) in by_digest}


def _flag_key(p: Planted) -> str:
    if p.where in _PIXEL_TAG:
        return _PIXEL_TAG[p.where]
    tag = _steps(p.path)[0][0]
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def outcomes(src: Path, out: Path, planted: list[Planted], report: VerifyReport) -> list[Outcome]:
    """Each planted value's fate in OUT (a file that was not written, e.g. quarantined, counts as removed)."""
    outputs = _outputs(src, out)
    flags: dict[str, set[str]] = defaultdict(set)
    for leak in report.leaks:
        flags[Path(str(leak.item)).name].add((leak.where or "")[:11].upper())
    by_file: dict[str, list[Planted]] = defaultdict(list)
    for p in planted:
        by_file[p.file].append(p)
    result: list[Outcome] = []
    for name, items in by_file.items():
        if name not in outputs:
            result.extend(Outcome(p, False, False) for p in items)
            continue
        source, output = dcmread(src / name), dcmread(outputs[name])
        for p in items:
            alive = _drawn_survives(source, output, p) if p.stroke is not None else _text_survives(output, p)
            result.append(Outcome(p, alive, alive and _flag_key(p) in flags[outputs[name].name]))
    return result


def run(root: Path, seed: int, n: int, options: DeidOptions | None = None) -> tuple[list[Outcome], VerifyReport]:
    """Generate, de-identify and verify a corpus under `root`; every planted value's outcome."""
    planted = generate(seed, root / "in", n)
    run_batch(root / "in", root / "out", KEY, options or DeidOptions())
    report = verify(root / "out", root / "in")
    return outcomes(root / "in", root / "out", planted, report), report


def recall(results: list[Outcome], by: str) -> dict[str, tuple[int, int, int]]:
    """Per `where` or `kind`: (planted, removed, survivors verify flagged)."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for o in results:
        row = table[getattr(o.planted, by)]
        row[0] += 1
        row[1] += not o.survived
        row[2] += o.flagged
    return {k: (v[0], v[1], v[2]) for k, v in sorted(table.items())}
