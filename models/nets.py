"""Small reference networks that the examples train here: 2-D and 3-D CNNs, a ViT-to-GPT-2 report writer.

Each is built from a few numbers stated in a config, so a model folder can be rebuilt from
its card (torch) or its config.json (transformers); the word-level tokenizer is built
from the training reports themselves, so no vocabulary is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from qms.models.hf import quiet_transformers

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast, VisionEncoderDecoderModel

__all__ = ["SPECIAL_TOKENS", "SmallCnn2d", "SmallCnn3d", "report_generator", "word_tokenizer"]

SPECIAL_TOKENS = ("[PAD]", "[BOS]", "[EOS]", "[UNK]")


class SmallCnn2d(torch.nn.Module):
    """`blocks` strided 3x3 convolutions (each doubling the width), global max pooling and one linear layer: one
    logit per label. Plain torch, so a device that runs it lists no transformers among its SOUP. Max pooling:
    with average pooling the tutorial's recipe missed the finding for some drawn keys
    (tests/docs/test_tutorial_recipe.py)."""

    def __init__(self, channels: int, labels: int, width: int = 8, blocks: int = 2) -> None:
        super().__init__()
        layers: list[torch.nn.Module] = []
        inputs = channels
        for block in range(blocks):
            layers += [torch.nn.Conv2d(inputs, width << block, 3, stride=2, padding=1), torch.nn.ReLU()]
            inputs = width << block
        self.features = torch.nn.Sequential(*layers, torch.nn.AdaptiveMaxPool2d(1))
        self.head = torch.nn.Linear(inputs, labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.features(x).flatten(1))
        return out


class SmallCnn3d(torch.nn.Module):
    """Two strided 3-D convolutions, global pooling and one linear layer: one logit per label."""

    def __init__(self, channels: int, labels: int, width: int = 8) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv3d(channels, width, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.Conv3d(width, 2 * width, 3, stride=2, padding=1), torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool3d(1))
        self.head = torch.nn.Linear(2 * width, labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.head(self.features(x).flatten(1))
        return out


def word_tokenizer(texts: Iterable[str], folder: Path | None = None) -> PreTrainedTokenizerFast:
    """A word-level tokenizer over the words of `texts` (lower-cased, punctuation split), saved to `folder` if given."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    core.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=list(SPECIAL_TOKENS)))
    core.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[(t, core.token_to_id(t)) for t in ("[BOS]", "[EOS]")])
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=core, pad_token="[PAD]", bos_token="[BOS]", eos_token="[EOS]", unk_token="[UNK]")
    if folder is not None:
        with quiet_transformers():
            tokenizer.save_pretrained(folder)
    return tokenizer


def report_generator(tokenizer: PreTrainedTokenizerFast, *, image_size: int, channels: int, hidden: int = 32,
                     layers: int = 1, heads: int = 2, positions: int = 64) -> VisionEncoderDecoderModel:
    """A tiny ViT encoder and GPT-2 decoder (cross-attention), its special tokens set for generation."""
    from transformers import GPT2Config, ViTConfig, VisionEncoderDecoderConfig, VisionEncoderDecoderModel

    encoder = ViTConfig(image_size=image_size, patch_size=max(2, image_size // 4), num_channels=channels,
                        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                        intermediate_size=2 * hidden)
    fields: dict[str, Any] = {"vocab_size": len(tokenizer), "n_positions": positions, "n_embd": hidden,
                              "n_layer": layers, "n_head": heads, "add_cross_attention": True, "is_decoder": True,
                              "bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id,
                              "pad_token_id": tokenizer.pad_token_id}
    decoder = GPT2Config(**fields)
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = tokenizer.bos_token_id
    config.pad_token_id = tokenizer.pad_token_id
    config.eos_token_id = tokenizer.eos_token_id
    with quiet_transformers():
        model = VisionEncoderDecoderModel(config=config)
    model.generation_config.decoder_start_token_id = tokenizer.bos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model
