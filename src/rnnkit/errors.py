"""The exceptions rnnkit raises for bad input.

Every problem a user can cause (a malformed file, a bad argument, a hostile
checkpoint, a broken config) is an :class:`RnnkitError`. Its message is one line
that names the file, row, column, key or argument, states the rule and echoes the
value. The CLI prints it as ``error: <message>`` and exits with code 2; library
users can catch it as a ``ValueError``.
"""
from __future__ import annotations

import re

__all__ = ["RnnkitError", "DataError", "ConfigError", "CheckpointError", "Interrupted", "printable"]

# C0 controls but tab and newline, DEL, and C1 controls: a terminal may act on them
# (colours, cursor moves, window titles), so text from a user's file never reaches it raw.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with terminal control characters shown as escapes (``\\x1b``), safe to print."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class RnnkitError(ValueError):
    """Bad input from the user. The message is a single line."""

    def __init__(self, message: str) -> None:
        # One line, always: a multi-line message would break the CLI contract.
        super().__init__(printable(" ".join(str(message).split("\n")).strip()))


class DataError(RnnkitError):
    """A data file (CSV, .ts, WAV, text) cannot be used as given."""


class ConfigError(RnnkitError):
    """A configuration file, key, value or override is invalid."""


class CheckpointError(RnnkitError):
    """A model or checkpoint directory is missing, corrupt, hostile or incompatible."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; the message (one line) says what was kept and how to resume.

    A KeyboardInterrupt, so code that lets Ctrl-C through still does; the CLI prints the
    message and exits with 130, as a shell does for SIGINT.
    """
