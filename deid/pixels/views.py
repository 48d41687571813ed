"""Where burned-in text can hide in a frame, as sparse boolean layers: stored values and the display.

Text is drawn where a viewer sees it, bright (or dark) on the displayed image after the
modality LUT or rescale, the VOI LUT or window, the palette and MONOCHROME1 inversion (in
colour, bright in any channel: annotations are drawn in saturated colours); or at
a stored value the display hides: the maximum stored value under a window, a palette index
whose colour is near black; or at one value the anatomy's noise never piles up on, however faint
(`spikes`). Each `Layer` is one such place; the search looks for strokes on it.
A layer covering much of the frame is anatomy or background, not annotation, and is left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels.decoders.base import get_decoder

from qms.deid.peek import peek_value, stored
from qms.deid.pixels.errors import UndecodablePixelData
from qms.deid.pixels.layout import PixelLayout
from qms.deid.pixels.spikes import spike_layers

__all__ = ["Layer", "frame_layers", "frames_of"]

_MIN_PIXELS = 20
"""Fewer pixels than this on a layer cannot draw a word."""
_SPARSE = 0.25
"""A layer covering more of the frame than this is background or anatomy."""
_LEVEL = 224 / 255
"""Displayed luminance (0..1) at or above which a pixel is bright text (at or below 1 - this: dark text)."""
_CORE_LEVEL = 250 / 255
"""Annotations are drawn at the display's extremes: most of a text line's pixels reach this level."""
_FAST_BITS = (8, 16, 32)
_SAMPLE, _BULK, _APART = 4, 0.005, 0.25
"""The bulk of a frame's values: every 4th pixel of every 4th row, without its top and bottom 0.5 %;
an extreme stands apart when its distance from the bulk exceeds a quarter of the bulk's spread."""
_PIXEL_DATA = 0x7FE00010


@dataclass(frozen=True)
class Layer:
    """The pixels of one frame at one place where text is drawn; `view` names the place (never text).

    `core`: the layer's pixels at the place's very extreme (for a stored value, the layer itself).
    """

    view: str
    pixels: NDArray[np.bool_]
    core: NDArray[np.bool_]


Display = Callable[[float], tuple[NDArray[np.bool_], NDArray[np.bool_]]]
"""Pixels displayed at or above a luminance level (0..1), and at or below one minus it."""


def frames_of(ds: Dataset, layout: PixelLayout) -> NDArray[np.generic]:
    """Every frame's stored values shaped (frames, rows, columns, samples); colour as RGB.

    Native little-endian data is read in place (no copy): this runs on every image.
    """
    ts = layout.transfer_syntax
    if (not ts.is_compressed and ts.is_little_endian and layout.bits_allocated in _FAST_BITS
            and not layout.photometric_interpretation.startswith("YBR")
            and (layout.samples_per_pixel == 1 or layout.planar_configuration == 0)
            and not (layout.signed and layout.bits_stored < layout.bits_allocated)):
        data = _native_bytes(ds)
        if len(data) < layout.native_bytes:
            raise UndecodablePixelData(f"Pixel Data holds {len(data)} bytes, the Image Pixel module needs "
                                       f"{layout.native_bytes}", transfer_syntax=ts)
        kind = "i" if layout.signed else "u"
        dtype = np.dtype(f"<{kind}{layout.bits_allocated // 8}")
        arr = np.frombuffer(data, dtype=dtype, count=layout.native_bytes // dtype.itemsize)
        if layout.bits_stored < layout.bits_allocated and arr.max() >> layout.bits_stored:
            arr = arr & dtype.type((1 << layout.bits_stored) - 1)  # unused high bits (old overlays) are not pixels
        return arr.reshape(layout.frames, layout.rows, layout.columns, layout.samples_per_pixel)
    try:
        arr, meta = get_decoder(ts).as_array(ds, raw=False)
    except NotImplementedError as exc:
        raise UndecodablePixelData("no decoder is available for this transfer syntax", transfer_syntax=ts) from exc
    except Exception as exc:  # every decoder failure means the same thing: quarantine
        raise UndecodablePixelData(f"{type(exc).__name__}: {exc}", transfer_syntax=ts) from exc
    frames = int(meta.get("number_of_frames", 1))
    return arr.reshape(frames, int(meta["rows"]), int(meta["columns"]), int(meta["samples_per_pixel"]))


def _native_bytes(ds: Dataset) -> bytes:
    """Pixel Data's bytes as read, without converting the element (the writer copies it as it was read)."""
    raw = stored(ds, _PIXEL_DATA)
    if type(raw) is RawDataElement and type(raw.value) is bytes:
        return raw.value
    data: bytes = ds.PixelData
    return data


def frame_layers(frame: NDArray[Any], ds: Dataset, layout: PixelLayout, lossy: bool = False) -> list[Layer]:
    """The sparse layers of one frame (rows, columns, samples): stored extremes, then the display's.

    `lossy`: the pixels went through a lossy compression, whose ringing and blur leave few of a
    text line's pixels at the display's extreme: a displayed layer is then its own core.
    """
    size = frame.shape[0] * frame.shape[1]
    layers: list[Layer] = []
    if frame.shape[2] == 1:
        values = frame[..., 0]
        low, high = values.min(), values.max()
        if high > low:
            layers += [_stored("stored maximum", values == high), _stored("stored minimum", values == low),
                       *_bands(values, float(low), float(high)),
                       *(_stored(view, pixels) for view, pixels in spike_layers(values))]
        try:
            display = _display(values, ds, layout, float(low), float(high))
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:  # a palette or LUT that is unusable
            raise UndecodablePixelData(f"the displayed image cannot be computed ({type(exc).__name__}: {exc})",
                                       transfer_syntax=layout.transfer_syntax) from exc
    else:
        display = _colour_display(frame[..., :3], float((1 << layout.bits_stored) - 1))
    layers = [layer for layer in layers if _sparse(layer.pixels, size)]
    layers = [layer for i, layer in enumerate(layers) if not any(_same(layer.pixels, o.pixels) for o in layers[:i])]
    shown = [(view, pixels) for view, pixels in zip(("displayed bright", "displayed dark"), display(_LEVEL),
                                                    strict=True)
             if _sparse(pixels, size) and not any(_same(pixels, layer.pixels) for layer in layers)]
    if shown:
        cores = dict(zip(("displayed bright", "displayed dark"), display(_LEVEL if lossy else _CORE_LEVEL),
                         strict=True))
        layers += [Layer(view, pixels, cores[view]) for view, pixels in shown]
    return layers


def _bands(values: NDArray[Any], low: float, high: float) -> list[Layer]:
    """The values nearer an extreme of the frame than its bulk is, where the extreme stands apart from
    the bulk: antialiased text drawn at the maximum (minimum) keeps its strokes' cores there, while
    their edges blend into the anatomy."""
    sample = values[::_SAMPLE, ::_SAMPLE].ravel()
    k = max(0, min(sample.size - 1, int(_BULK * sample.size)))
    bulk_low, bulk_high = (float(v) for v in np.partition(sample, (k, sample.size - 1 - k))[[k, sample.size - 1 - k]])
    apart = _APART * max(bulk_high - bulk_low, 1.0)
    bands: list[Layer] = []
    if high - bulk_high > apart:
        bands.append(_stored("stored top band", values >= _integral(values, math.ceil((bulk_high + high) / 2))))
    if bulk_low - low > apart:
        bands.append(_stored("stored bottom band", values <= _integral(values, math.floor((bulk_low + low) / 2))))
    return bands


def _stored(view: str, pixels: NDArray[np.bool_]) -> Layer:
    return Layer(view, pixels, pixels)


def _sparse(pixels: NDArray[np.bool_], size: int) -> bool:
    return bool(_MIN_PIXELS <= np.count_nonzero(pixels) <= _SPARSE * size)


def _same(a: NDArray[np.bool_], b: NDArray[np.bool_]) -> bool:
    """Two layers differing in at most 1 % of their pixels (text at the stored maximum is also displayed bright)."""
    na, nb = int(np.count_nonzero(a)), int(np.count_nonzero(b))
    return abs(na - nb) <= 0.01 * max(na, nb) and int(np.count_nonzero(a ^ b)) <= 0.01 * max(na, nb)


def _scaled(shown: NDArray[Any], top: float, bottom: float = 0.0) -> Display:
    """Thresholds on a display already in its own units, `bottom` shown black and `top` white."""
    def at(level: float) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        span = top - bottom
        return shown >= bottom + level * span, shown <= bottom + (1 - level) * span
    return at


def _colour_display(rgb: NDArray[Any], top: float) -> Display:
    """Colour frames: bright where any channel saturates (white, yellow, green or cyan annotations),
    dark where the luminance is low."""
    brightest = rgb.max(axis=2)
    luminance = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114

    def at(level: float) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        bright: NDArray[np.bool_] = brightest >= level * top
        return bright, luminance <= (1 - level) * top
    return at


def _display(values: NDArray[Any], ds: Dataset, layout: PixelLayout, low: float, high: float) -> Display:
    """The display of a single-sample frame, as stored-value thresholds wherever it is linear."""
    if layout.photometric_interpretation == "PALETTE COLOR":
        return _palette_display(values, ds)
    if any(k in ds for k in ("ModalityLUTSequence", "VOILUTSequence")) or _voi_function(ds) == "SIGMOID":
        return _lut_display(values, ds, layout)
    slope = float(peek_value(ds, 0x00281053, 1) or 1) or 1.0
    intercept = float(peek_value(ds, 0x00281052, 0) or 0)
    window = _window(ds)
    if window is None:  # no window: the viewer stretches the frame's own range
        lo_out, hi_out = low * slope + intercept, high * slope + intercept
        lo_out, hi_out = min(lo_out, hi_out), max(lo_out, hi_out)
    else:  # PS3.3 C.11.2.1.2.1, LINEAR: the output range is centre - 0.5 -+ (width - 1) / 2
        centre, width = window
        lo_out, hi_out = centre - 0.5 - (width - 1) / 2, centre - 0.5 + (width - 1) / 2
    inverted = layout.photometric_interpretation == "MONOCHROME1"

    def output_at_least(threshold: float, at_least: bool) -> NDArray[np.bool_]:
        """Stored values whose modality output is >= (or <=) `threshold`; a negative slope turns the side."""
        stored_threshold = (threshold - intercept) / slope
        side: NDArray[np.bool_]
        if at_least == (slope > 0):
            side = values >= _integral(values, math.ceil(stored_threshold))
        else:
            side = values <= _integral(values, math.floor(stored_threshold))
        return side

    def at(level: float) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        upper, lower = lo_out + level * (hi_out - lo_out), lo_out + (1 - level) * (hi_out - lo_out)
        if inverted:
            return output_at_least(lower, False), output_at_least(upper, True)
        return output_at_least(upper, True), output_at_least(lower, False)
    return at


def _integral(values: NDArray[Any], threshold: int) -> Any:
    """`threshold` in the values' own integer type, clipped to its range (an integer comparison is fast)."""
    if not np.issubdtype(values.dtype, np.integer):
        return values.dtype.type(threshold)
    info = np.iinfo(values.dtype)
    return values.dtype.type(min(max(threshold, info.min), info.max))


def _window(ds: Dataset) -> tuple[float, float] | None:
    """The first WindowCenter / WindowWidth pair (PS3.3 C.11.2), or None when absent or unusable."""
    centre, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centre is None or width is None:
        return None
    try:
        c = float(centre[0] if isinstance(centre, MultiValue) else centre)
        w = float(width[0] if isinstance(width, MultiValue) else width)
    except (TypeError, ValueError, IndexError):
        return None
    return (c, w) if w >= 1 else None


def _voi_function(ds: Dataset) -> str:
    return str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()


def _lut_display(values: NDArray[Any], ds: Dataset, layout: PixelLayout) -> Display:
    """The display through pydicom's modality and VOI LUTs (tables, sigmoid), scaled to 0..1."""
    from pydicom.pixels.processing import apply_modality_lut, apply_voi_lut

    shown = np.asarray(apply_voi_lut(apply_modality_lut(values, ds), ds), dtype=np.float64)
    if layout.photometric_interpretation == "MONOCHROME1":
        shown = -shown
    return _scaled(shown, float(shown.max()), float(shown.min()))


def _palette_display(values: NDArray[Any], ds: Dataset) -> Display:
    """Luminance of each index's palette colour, looked up per pixel."""
    from pydicom.pixels.processing import apply_color_lut

    descriptor = ds.RedPaletteColorLookupTableDescriptor
    entries, first = int(descriptor[0]) or 65536, int(descriptor[1])
    colours = apply_color_lut(np.arange(first, first + entries, dtype=np.uint16), ds)
    top = float(np.iinfo(colours.dtype).max) if np.issubdtype(colours.dtype, np.integer) else 1.0
    luminance = (0.299 * colours[:, 0] + 0.587 * colours[:, 1] + 0.114 * colours[:, 2]) / top
    return _scaled(luminance[np.clip(values.astype(np.int64) - first, 0, entries - 1)], 1.0)
