"""Why an output is larger than its input: the manifest says so when it is over 1.1 times (issue 19).

Unmasked pixel data keeps its encoded bytes, so an output grows only by its header (the
de-identification method attributes of PS3.15 §E.1.1, dummy values, keyed UIDs), which
matters only for small files, or when masked pixels were written in another transfer syntax
(`qms.deid.pixels.codec.reencode` says why in the pixel notes).
"""

from __future__ import annotations

from typing import Any

from pydicom.uid import UID

__all__ = ["GROWTH_LIMIT", "growth_note"]

GROWTH_LIMIT = 1.1
"""An output at most this many times its input's size needs no explanation."""


def growth_note(input_size: int, output_size: int, pixels: dict[str, Any] | None) -> str | None:
    """The reason an output is over `GROWTH_LIMIT` times its input, from its pixel report; None when it is not."""
    if output_size <= input_size * GROWTH_LIMIT:
        return None
    ratio = output_size / max(input_size, 1)
    written, source = (pixels or {}).get("transfer_syntax"), (pixels or {}).get("source_transfer_syntax")
    if written and source and written != source:
        return (f"{ratio:.2f}x the input: masked pixel data written as {UID(written).name} instead of "
                f"{UID(source).name} (see the pixel notes)")
    return (f"{ratio:.2f}x the input: the header grew by {output_size - input_size} bytes (de-identification "
            "method attributes, dummy values, keyed UIDs); the pixel data kept its encoding")
