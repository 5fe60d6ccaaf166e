"""The ``rnnkit`` command line: thin typer commands over plain, importable functions."""
from __future__ import annotations

from typer.core import TyperArgument, TyperOption

# Help shows conventional metavars (PATH, INT, FLOAT, TEXT: each option sets its own);
# typer's rich help would print "<bool>" beside every flag (--help, --json, --refit/
# --no-refit), which takes no value, so flags show none; an argument with a metavar
# shows it once (as its name), not again as its type. tests/cli/test_help.py checks both.
_typer_display_type = TyperOption.display_type_rich


def _display_type(self: TyperOption, ctx):  # noqa: ANN001 - typer's signature
    return None if self.is_flag or self.count else _typer_display_type(self, ctx)


def _argument_type(self: TyperArgument, ctx):  # noqa: ANN001 - typer's signature
    return None if self.metavar is not None else _typer_argument_type(self, ctx)


_typer_argument_type = TyperArgument.display_type_rich
TyperOption.display_type_rich = _display_type
TyperArgument.display_type_rich = _argument_type
