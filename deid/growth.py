"""Why an output is larger than its input: the manifest says so when it is over 1.1 times (issue 19).

Unmasked pixel data keeps its encoded bytes, so an output grows only by its header (the
de-identification method attributes of PS3.15 §E.1.1, dummy values, keyed UIDs), which
matters only for small files, or when masked pixels were encoded again, which may compress
them less than the original's encoder did (`qms.deid.pixels.codec.reencode`; its note says why
when the transfer syntax changed).
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
    report = pixels or {}
    written, source = report.get("transfer_syntax"), report.get("source_transfer_syntax")
    if report.get("decoded") and written and source:
        how = "in its own syntax" if written == source else f"as {UID(written).name}, see the pixel notes"
        return (f"{ratio:.2f}x the input: masked pixels of a {UID(source).name} original were encoded again "
                f"({how}); its encoder compresses them less than the original's did")
    return (f"{ratio:.2f}x the input: the header grew by {output_size - input_size} bytes (de-identification "
            "method attributes, dummy values, keyed UIDs); the pixel data kept its encoding")
