"""Errors of the models capability: each names the file, and the tag or field, at fault."""

from __future__ import annotations

from qms.errors import CheckFailed, QmsError

__all__ = ["InputError", "ModelError", "PromotionRefused", "TamperedModel"]


class ModelError(QmsError):
    """A model folder, card, config or reference is wrong (usage error, exit 2)."""


class InputError(QmsError):
    """One input image cannot be turned into a tensor; inference reports it per case."""


class TamperedModel(CheckFailed):
    """A model's files no longer match the hashes recorded when it was registered (exit 1)."""


class PromotionRefused(CheckFailed):
    """A stage change was asked for without what it requires (exit 1)."""
