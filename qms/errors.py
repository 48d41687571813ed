"""One base error for everything a user can get wrong; the CLI catches it once.

Every error says what was wrong, where (file:line, item id, DICOM tag), and what to do,
so a user never needs a traceback to act on it (STYLE habit 6).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["CheckFailed", "ConfigError", "ExitCode", "QmsError", "StoreError"]


class ExitCode(IntEnum):
    """Exit codes shared by every `qms` command (DESIGN: the release gate)."""

    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INTERNAL = 3  # a bug in qmskit, not the user's doing: CI must not read it as a failed check
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class QmsError(Exception):
    """A failure the user can act on: a message, where it happened, and a hint."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def diagnostics(self) -> str:
        """The text shown to the user: where, what, and what to do."""
        head = f"{self.where}: {self.message}" if self.where else self.message
        return f"{head}\n  hint: {self.hint}" if self.hint else head

    def to_json(self) -> dict[str, str | None]:
        return {"error": type(self).__name__, "message": self.message, "where": self.where, "hint": self.hint}

    def __str__(self) -> str:
        return self.diagnostics()


class ConfigError(QmsError):
    """The device project's configuration is missing or invalid."""


class StoreError(QmsError):
    """The record store cannot be opened, is of an unknown schema, or refused a write."""


class CheckFailed(QmsError):
    """A verification ran and found a problem (exit 1, not a usage error)."""

    exit_code = ExitCode.CHECK_FAILED
