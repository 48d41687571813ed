"""Loading an image-to-text folder: a Hugging Face vision encoder-decoder and the tokenizer beside it.

Local files only and never remote code: the config, the safetensors weights and the
tokenizer are all read from the one folder whose every file the registry hashed, so
nothing a load depends on lies outside the version's digest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError

from qms.models.errors import ModelError
from qms.models.hf import CONFIG_FILE, check_fit, quiet_transformers

__all__ = ["TOKENIZER_FILE", "load_image_to_text", "next_token_width"]

TOKENIZER_FILE = "tokenizer.json"


def load_image_to_text(folder: Path, weights: Path) -> tuple[torch.nn.Module, Any]:
    """The generator module and its tokenizer, both from `folder` (the caller checked the files' hashes)."""
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoTokenizer

    for needed in (CONFIG_FILE, TOKENIZER_FILE):
        if not (folder / needed).is_file():
            raise ModelError(f"an image-to-text model folder needs {needed}", where=str(folder),
                             hint="save the model with save_pretrained and its tokenizer into the same folder")
    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    except (ValueError, OSError, KeyError) as exc:
        raise ModelError(f"cannot read the model config or tokenizer: {exc}", where=str(folder)) from exc
    if getattr(config, "decoder_start_token_id", None) is None or getattr(config, "pad_token_id", None) is None:
        raise ModelError("config.json lacks decoder_start_token_id or pad_token_id, which generation needs",
                         where=str(folder / CONFIG_FILE), hint="set both from the tokenizer's special tokens")
    try:
        with quiet_transformers():
            loaded: Any = AutoModelForImageTextToText.from_pretrained(
                folder, config=config, local_files_only=True, trust_remote_code=False, use_safetensors=True,
                output_loading_info=True)
        module, info = loaded
    except (ValueError, OSError, RuntimeError, SafetensorError) as exc:
        raise ModelError(f"cannot load the weights: {exc}", where=str(weights)) from exc
    check_fit(info, weights)
    return module, tokenizer


def next_token_width(module: torch.nn.Module, pixels: torch.Tensor) -> int:
    """The vocabulary width of one decoder step on `pixels`: what the load-time probe checks."""
    start = int(module.config.decoder_start_token_id)  # type: ignore[union-attr, arg-type]
    decoder_input = torch.full((pixels.shape[0], 1), start, dtype=torch.long)
    return int(module(pixel_values=pixels, decoder_input_ids=decoder_input).logits.shape[-1])
