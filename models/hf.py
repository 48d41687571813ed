"""What every Hugging Face load shares: the config file's name, quiet loading, and the weights-fit check.

Its own module so that the loaders of each model kind (`qms.models.loaders`,
`qms.models.image_to_text`) share it without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qms.models.errors import ModelError

__all__ = ["CONFIG_FILE", "check_fit", "quiet_transformers"]

CONFIG_FILE = "config.json"


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """The library never prints: transformers' own progress bars are off while it loads."""
    from transformers.utils import logging as hf_logging

    was_enabled, verbosity = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if was_enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def check_fit(info: dict[str, Any], weights: Path) -> None:
    """Refuse weights with missing, unexpected or mismatched keys (transformers' loading info), naming the first few."""
    problems = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    if problems:
        kind, keys = next(iter(problems.items()))
        raise ModelError(f"the weights do not fit the config: {kind.replace('_', ' ')} {sorted(map(str, keys))[:3]}",
                         where=str(weights))
