"""The root ``rnnkit`` typer app.

Each command lives in its own module under :mod:`rnnkit.cli` and exposes
``register(app: typer.Typer) -> None``. A command only parses its arguments and
calls one plain function from the library, so tests can import that function.

Every :class:`rnnkit.errors.RnnkitError` raised below this app is printed as one
line, ``error: <message>``, on stderr, and the process exits with code 2: no
traceback for mistakes a user can make. An ``OSError`` that no command turned into
its own message (a full disk, a read-only or vanished folder) is the same kind of
line, naming the file. Writes are atomic, so such an error leaves no half-written file.
Ctrl-C prints one line saying what was kept and how to resume, and exits with 130.

A reader that goes away early (``rnnkit classify predict ... | head -1``) stops the
command quietly, as it stops ``cat`` or ``grep``: no traceback, no ``error:`` line, no
"Exception ignored" at exit, and exit code 141 (128 + SIGPIPE, what a shell reports for
such a writer). Files already written stay complete (writes are atomic). The same holds for
the help pages (``rnnkit --help | head -1``), which rich prints.
"""
from __future__ import annotations

import importlib
import os
import sys

import typer
from typer.core import TyperGroup

from rnnkit import __version__
from rnnkit.errors import Interrupted, RnnkitError
from rnnkit.training.distributed import cleanup

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE

# Modules that add commands, in the order `rnnkit --help` lists them.
COMMAND_MODULES = (
    "rnnkit.cli.demo",
    "rnnkit.cli.tutorial",
    "rnnkit.cli.forecast",
    "rnnkit.cli.text",
    "rnnkit.cli.classify",
    "rnnkit.cli.datasets",
    "rnnkit.cli.export",
    "rnnkit.cli.diagnose",
)


class _OneLineErrors(TyperGroup):
    """Turns an RnnkitError anywhere in a command into ``error: ...`` and exit code 2."""

    def make_context(self, *args, **kwargs):  # eager options (--version) print from here
        try:
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            _silence_output()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None

    def invoke(self, ctx):  # noqa: D401 - click API
        try:
            return super().invoke(ctx)
        except RnnkitError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt as err:  # Ctrl-C: one line on what was kept, exit 130 like a shell
            text = str(err) if isinstance(err, Interrupted) and str(err) else (
                "interrupted; every file written so far is complete (writes are atomic)")
            typer.echo(text, err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except BrokenPipeError:  # the reader of stdout (or stderr) went away: stop quietly
            _silence_output()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except OSError as err:  # the machine's fault or the user's, never a traceback
            where = f"{str(err.filename)!r}: " if err.filename else ""
            typer.echo(f"error: {RnnkitError(f'{where}{err.strerror or err}')}", err=True)
            raise typer.Exit(EXIT_USAGE) from None


app = typer.Typer(
    cls=_OneLineErrors,
    name="rnnkit",
    help="Recurrent neural networks for sequence data: forecasting, text and speech.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rnnkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """rnnkit: RNN, LSTM and GRU built from the equations, proven against torch.nn."""


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def _silence_output() -> None:
    """Point stdout and stderr at /dev/null, so that the flush at exit finds no broken pipe.

    (Output captured in memory, as by typer's CliRunner, has no descriptor: left as is.)
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for stream in (sys.stdout, sys.stderr):
            try:
                os.dup2(devnull, stream.fileno())
            except (AttributeError, OSError, ValueError):
                pass
    finally:
        os.close(devnull)


def _points_at_devnull(fd: int) -> bool:
    """Whether descriptor ``fd`` is open on the null device."""
    try:
        here, null = os.fstat(fd), os.stat(os.devnull)
    except (OSError, ValueError):
        return False
    return (here.st_dev, here.st_ino) == (null.st_dev, null.st_ino)


def main() -> None:
    """Console-script entry point (also ``python -m rnnkit``)."""
    devnull_before = _points_at_devnull(1)
    try:
        try:
            app()
        finally:  # output still buffered for a pipe is written here, not at interpreter exit
            sys.stdout.flush()
            # under torchrun rank 0 goes on after training (the others leave in leave_unless_main):
            # it destroys its process group here, as torch asks, rather than at interpreter exit
            cleanup()
    except BrokenPipeError:
        _silence_output()
        sys.exit(EXIT_BROKEN_PIPE)
    except SystemExit as done:
        # rich (typer's help pages) meets a broken pipe by pointing stdout at /dev/null and
        # exiting with 1: report it as every other command's broken pipe
        if done.code == 1 and not devnull_before and _points_at_devnull(1):
            _silence_output()
            sys.exit(EXIT_BROKEN_PIPE)
        raise
