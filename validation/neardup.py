"""Near-duplicate images between the test set and training (VALIDATION.md, independence evidence).

Patient-id joins miss the same image filed under another id (re-exported, re-identified,
anonymised twice). So every test image is compared with every training image of the
model's lineage by a perceptual hash: the difference hash (Krawetz's dHash) of the image
as displayed (Modality LUT, VOI window, MONOCHROME1 inverted: qms.models.preprocess),
box-downsampled to 17 x 16 cells, one bit per horizontal step (brighter or not): 256
bits. A window change is monotone and leaves the bits alone; mild noise flips a few.
64 bits (8 x 8) are too coarse for images that share one layout: on the example's
synthetic chest X-rays distinct images collide at distance 0, while at 256 bits the
closest distinct pair (de-identified, 827 images) is 21 bits apart and a re-windowed copy
with 0.5 % noise at most 12 (0.2 % noise: at most 6).

Each file is read once: its bytes are hashed (sha256, which must match the manifest) and
decoded from memory, and its perceptual hash is cached by sha256. Pairs within the
protocol's `max_distance` (exact sha256 matches included, at distance 0) are counted and
recorded by file hash and pseudonymous patient id only, never by path. With `action:
fail` (the default) any pair, or a training image that could not be hashed, fails the run.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qms.validation.manifest import DatasetManifest, ManifestEntry
from qms.validation.protocolreader import ProtocolReader

__all__ = [
    "Action", "BITS", "DEFAULT_MAX_DISTANCE", "NearDupSpec", "NearDuplicates", "PAIRS_KEPT", "SIDE", "clear_cache",
    "dhash", "distances", "find_near_duplicates", "parse",
]

SIDE = 16
BITS = SIDE * SIDE
DEFAULT_MAX_DISTANCE = 10
"""Of 256 bits: near a re-windowed, 0.5 %-noised copy (<= 12 at worst, ~4 typical), well below distinct images (>= 21)."""
PAIRS_KEPT = 100
_CACHE: dict[str, bytes] = {}
_CACHE_MAX = 200_000


class Action(str, Enum):
    FAIL = "fail"
    REPORT = "report"


@dataclass(frozen=True)
class NearDupSpec:
    max_distance: int = DEFAULT_MAX_DISTANCE
    action: Action = Action.FAIL
    training_root: str | None = None
    """Folder the training manifests' files are relative to; the test set's `dataset.root` when left out."""


def parse(p: ProtocolReader) -> NearDupSpec:
    """`independence: {near_duplicates: {max_distance, action, training_root}}`; the check runs by default."""
    path = ("independence", "near_duplicates")
    if p.get(path[:1], dict, required=False) is None:
        return NearDupSpec()
    p.keys(path[:1], {"near_duplicates"})
    if p.get(path, dict, required=False) is None:
        return NearDupSpec()
    p.keys(path, {"max_distance", "action", "training_root"})
    distance = int(p.get((*path, "max_distance"), int, required=False, default=DEFAULT_MAX_DISTANCE))
    if not 0 <= distance < BITS // 2:
        raise p.fail((*path, "max_distance"), f"max_distance = {distance} is out of range",
                     hint=f"0 to {BITS // 2 - 1} bits of the {BITS}-bit hash")
    action = p.enum((*path, "action"), Action, "fail, report") if p.has((*path, "action")) else Action.FAIL
    return NearDupSpec(distance, action, p.get((*path, "training_root"), str, required=False))


def clear_cache() -> None:
    """Forget the cached hashes (they are keyed by content, so they never go stale; this frees memory)."""
    _CACHE.clear()


def dhash(pixels: NDArray[np.floating[Any]]) -> bytes:
    """256-bit difference hash of a (rows, columns) or (channels, rows, columns) image."""
    from PIL import Image

    grey = np.asarray(pixels, dtype=np.float32)
    if grey.ndim == 3:
        grey = grey.mean(axis=0)
    cells = np.asarray(Image.fromarray(grey, mode="F").resize((SIDE + 1, SIDE), Image.Resampling.BOX))
    return np.packbits(cells[:, 1:] > cells[:, :-1]).tobytes()


def _hash_entry(entry: ManifestEntry, root: Path) -> bytes | str:
    """The entry's perceptual hash, or why it has none (no path in the reason: paths may carry identifiers)."""
    cached = _CACHE.get(entry.sha256)
    if cached is not None:
        return cached
    try:
        data = (root / entry.file).read_bytes()
    except OSError:
        return "missing"
    if hashlib.sha256(data).hexdigest() != entry.sha256:
        return "content differs from the manifest"
    import pydicom  # the DICOM reader loads when images are hashed, not when a protocol is read

    from qms.models.display import display_image

    try:
        image = display_image(pydicom.dcmread(io.BytesIO(data)), entry.sha256[:12])
        digest = dhash(image.pixels)
    except Exception as exc:  # noqa: BLE001 - any decode failure leaves the image unhashed, and it is reported
        return f"not decodable ({type(exc).__name__})"
    if len(_CACHE) < _CACHE_MAX:
        _CACHE[entry.sha256] = digest
    return digest


def _hashes(entries: Sequence[ManifestEntry], root: Path) -> tuple[list[ManifestEntry], NDArray[np.uint8], list[dict[str, str]]]:
    kept, rows, problems = [], [], []
    for e in entries:
        h = _hash_entry(e, root)
        if isinstance(h, str):
            problems.append({"sha256": e.sha256, "reason": h})
        else:
            kept.append(e)
            rows.append(np.frombuffer(h, dtype=np.uint8))
    return kept, np.array(rows, dtype=np.uint8).reshape(-1, BITS // 8), problems


def distances(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> NDArray[np.uint16]:
    """Hamming distances between every row of `a` and every row of `b`: XOR and popcount on 64-bit words, in blocks."""
    wa = np.ascontiguousarray(a).view(np.uint64)
    wb = np.ascontiguousarray(b).view(np.uint64)
    out = np.empty((len(a), len(b)), dtype=np.uint16)
    step = max(1, (32 << 20) // max(1, len(b) * wa.shape[1] * 8))
    for i in range(0, len(a), step):
        out[i:i + step] = np.bitwise_count(wa[i:i + step, None, :] ^ wb[None, :, :]).sum(axis=2, dtype=np.uint16)
    return out


@dataclass(frozen=True)
class NearDuplicates:
    """The pairs of a test and a training image within `max_distance` bits of each other."""

    spec: NearDupSpec
    test_images: int
    training_images: int
    pairs: tuple[dict[str, Any], ...]
    unreadable_test: tuple[dict[str, str], ...]
    unreadable_training: tuple[dict[str, str], ...]

    @property
    def test_cases(self) -> int:
        return len({p["test_sha256"] for p in self.pairs})

    @property
    def ok(self) -> bool:
        return self.spec.action is Action.REPORT or not (self.pairs or self.unreadable_training)

    def reasons(self) -> list[str]:
        if self.spec.action is Action.REPORT:
            return []
        out = []
        if self.pairs:
            out.append(f"{self.test_cases} test images have {len(self.pairs)} near-duplicates in training data "
                       f"(perceptual hash within {self.spec.max_distance} of {BITS} bits)")
        if self.unreadable_training:
            first = self.unreadable_training[0]
            out.append(f"{len(self.unreadable_training)} training images could not be hashed for the near-duplicate "
                       f"check (first: sha256 {first['sha256'][:12]}: {first['reason']})")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"method": f"difference hash, {BITS} bits ({SIDE + 1}x{SIDE} cells of the displayed image), Hamming distance",
                "max_distance": self.spec.max_distance, "action": self.spec.action.value,
                "test_images": self.test_images, "training_images": self.training_images,
                "count": len(self.pairs), "test_cases": self.test_cases,
                "exact": sum(1 for p in self.pairs if p["exact"]),
                "pairs": list(self.pairs[:PAIRS_KEPT]), "pairs_truncated": len(self.pairs) > PAIRS_KEPT,
                "unreadable_test": list(self.unreadable_test), "unreadable_training": list(self.unreadable_training),
                "ok": self.ok, "reasons": self.reasons()}


def find_near_duplicates(test: DatasetManifest, test_root: Path, training: Sequence[DatasetManifest],
                         training_root: Path, spec: NearDupSpec) -> NearDuplicates:
    """Hash every test and training image (once each) and collect the pairs within the spec's distance."""
    t_entries, t_hash, t_bad = _hashes(test.entries, test_root)
    train = [e for m in training for e in m.entries]
    r_entries, r_hash, r_bad = _hashes(train, training_root)
    pairs: list[dict[str, Any]] = []
    if len(t_entries) and len(r_entries):
        d = distances(t_hash, r_hash)
        for i, j in zip(*np.nonzero(d <= spec.max_distance), strict=True):
            t, r = t_entries[int(i)], r_entries[int(j)]
            pairs.append({"test_sha256": t.sha256, "test_patient": t.patient_id, "training_sha256": r.sha256,
                          "training_patient": r.patient_id, "distance": int(d[i, j]), "exact": t.sha256 == r.sha256})
    pairs.sort(key=lambda p: (p["distance"], p["test_sha256"], p["training_sha256"]))
    return NearDuplicates(spec, len(test.entries), len(train), tuple(pairs), tuple(t_bad), tuple(r_bad))
