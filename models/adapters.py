"""LoRA adapters through `peft`: an adapter folder is its own model version over a registered base.

The adapter's files (adapter_config.json, adapter_model.safetensors, its card) are hashed
as a version of their own; the base is the version's lineage parent, loaded (and so
hash-checked) first. The adapter is merged into a copy of the base's weights, so
inference runs the module class the base defines.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError

from qms.models.errors import ModelError

__all__ = ["ADAPTER_CONFIG", "apply_adapter"]

ADAPTER_CONFIG = "adapter_config.json"


def apply_adapter(base: torch.nn.Module, folder: Path, weights: Path) -> torch.nn.Module:
    """`base` with the LoRA adapter in `folder` merged in; `base` itself is left as it was."""
    import copy
    import warnings

    from peft import PeftModel

    if not (folder / ADAPTER_CONFIG).is_file():
        raise ModelError(f"a LoRA adapter folder needs {ADAPTER_CONFIG}", where=str(folder),
                         hint="save the adapter with PeftModel.save_pretrained")
    try:
        with warnings.catch_warnings():  # peft's deprecation notices about transformers: the library never prints
            warnings.simplefilter("ignore", FutureWarning)
            wrapped = PeftModel.from_pretrained(copy.deepcopy(base), str(folder), is_trainable=False,
                                                local_files_only=True)
    except (ValueError, OSError, RuntimeError, KeyError, SafetensorError) as exc:
        raise ModelError(f"the adapter does not load onto its base: {str(exc).splitlines()[0]}", where=str(weights)) from exc
    merged: torch.nn.Module = wrapped.merge_and_unload()
    return merged
