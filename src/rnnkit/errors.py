"""The exceptions rnnkit raises for bad input.

Every problem a user can cause (a malformed file, a bad argument, a hostile
checkpoint, a broken config) is an :class:`RnnkitError`. Its message is one line
that names the file, row, column, key or argument, states the rule and echoes the
value. The CLI prints it as ``error: <message>`` and exits with code 2; library
users can catch it as a ``ValueError``.
"""
from __future__ import annotations

__all__ = ["RnnkitError", "DataError", "ConfigError", "CheckpointError"]


class RnnkitError(ValueError):
    """Bad input from the user. The message is a single line."""

    def __init__(self, message: str) -> None:
        # One line, always: a multi-line message would break the CLI contract.
        super().__init__(" ".join(str(message).split("\n")).strip())


class DataError(RnnkitError):
    """A data file (CSV, .ts, WAV, text) cannot be used as given."""


class ConfigError(RnnkitError):
    """A configuration file, key, value or override is invalid."""


class CheckpointError(RnnkitError):
    """A model or checkpoint directory is missing, corrupt, hostile or incompatible."""
