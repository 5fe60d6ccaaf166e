"""Options and helpers every training command shares: run folders, config, overrides, resume.

A task command uses them like this::

    from rnnkit.cli import common

    @app.command(context_settings=common.EXTRA_ARGS)
    def train(ctx: typer.Context, out: common.Out = None, config: common.Config = None,
              set_: common.Set = None, seed: common.Seed = None,
              device: common.Device = None, resume: common.Resume = None):
        cfg, run_dir = common.prepare_run(
            MyTaskConfig, "forecast", out=out, config=config, overrides=common.overrides(ctx, set_),
            named=common.train_options(seed=seed, device=device), resume=resume)
        my_task.train(cfg, run_dir, resume=resume is not None)   # a plain function

Precedence (lowest first): the task's dataclass defaults; the resumed run's
``config.json``; ``--config FILE.toml``; ``--set key=value`` / ``--train.lr 3e-3``; the
typed options (``--epochs``, ``--time-budget``, ``--max-steps``, ``--seed``, ``--device``,
``--threads`` set ``train.*``). A user value overrides only the key it names. Every mistake is a
ConfigError/CheckpointError: the root app prints one line and exits with code 2.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import time
import typing
import warnings
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from rnnkit.errors import CheckpointError, ConfigError, printable

__all__ = [
    "Out",
    "Config",
    "Set",
    "Seed",
    "Device",
    "Resume",
    "Threads",
    "Epochs",
    "TimeBudget",
    "MaxSteps",
    "train_options",
    "shown",
    "EXTRA_ARGS",
    "overrides",
    "resolve_config",
    "resolve_run_dir",
    "prepare_run",
    "check_resume",
    "read_run_config",
]

T = TypeVar("T")

Out = Annotated[Optional[Path], typer.Option(
    "--out", metavar="PATH", help="Run folder to write (created).")]
Config = Annotated[Optional[Path], typer.Option("--config", metavar="PATH", help="TOML config file.")]
Set = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="KEY=VALUE",
    help="Override a config key, e.g. --set train.lr=3e-3 (repeatable).")]
Seed = Annotated[Optional[int], typer.Option(
    "--seed", metavar="INT", help="Random seed (sets train.seed).")]
Device = Annotated[Optional[str], typer.Option(
    "--device", metavar="TEXT", help="auto, cpu, cuda, cuda:N or mps (sets train.device).")]
Threads = Annotated[Optional[int], typer.Option(
    "--threads", metavar="INT", help="torch CPU threads while training (sets train.threads).")]
Epochs = Annotated[Optional[int], typer.Option(
    "--epochs", metavar="INT", help="Passes over the training data, >= 1 (sets train.epochs).")]
TimeBudget = Annotated[Optional[float], typer.Option(
    "--time-budget", metavar="FLOAT",
    help="Seconds of training at most, the validation passes included (sets train.time_budget).")]
MaxSteps = Annotated[Optional[int], typer.Option(
    "--max-steps", metavar="INT", help="Optimizer steps at most, exactly (sets train.max_steps).")]
Resume = Annotated[Optional[Path], typer.Option(
    "--resume", metavar="PATH", help="Continue the run in this folder exactly.")]
Overwrite = Annotated[bool, typer.Option(
    "--overwrite", help="Replace an earlier run in --out (only the files a run writes; others are kept).")]


def shown(option: Any, default: object) -> Any:
    """``option`` (one of the Annotated options above) with ``[default: default]`` in its
    help: the task's own default, where the option's None means "the config's value"."""
    base, info = typing.get_args(option)
    info = copy.copy(info)
    info.show_default = str(default)
    return Annotated[base, info]


def train_options(epochs: Optional[int] = None, time_budget: Optional[float] = None,
                  max_steps: Optional[int] = None, seed: Optional[int] = None,
                  device: Optional[str] = None, threads: Optional[int] = None) -> dict:
    """The options every train/backtest command takes, as ``train.*`` keys (given ones only)."""
    named = {"train.epochs": epochs, "train.time_budget": time_budget,
             "train.max_steps": max_steps, "train.seed": seed, "train.device": device,
             "train.threads": threads}
    return {key: value for key, value in named.items() if value is not None}


#: ``context_settings`` that let a command also take ``--train.lr 3e-3`` style overrides.
EXTRA_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}


def overrides(ctx: Optional[typer.Context], set_: Optional[list[str]] = None) -> list[str]:
    """``--set a.b=v`` values plus ``--a.b v`` / ``--a.b=v`` extra arguments, in order given."""
    result = list(set_ or [])
    args = list(ctx.args) if ctx is not None else []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or "." not in arg.split("=", 1)[0]:
            raise ConfigError(
                f"unexpected argument {arg!r}; overrides look like --train.lr 3e-3 or --set train.lr=3e-3"
            )
        if "=" in arg:
            result.append(arg[2:])
            i += 1
        elif i + 1 < len(args):
            result.append(f"{arg[2:]}={args[i + 1]}")
            i += 2
        else:
            raise ConfigError(f"override {arg!r} needs a value, e.g. {arg} 3e-3")
    return result


def read_run_config(run_dir: Path) -> dict:
    """A run folder's ``config.json`` as a dict; a missing folder or file is one line."""
    run_dir = Path(run_dir)
    path = run_dir / "config.json"
    if not run_dir.is_dir():
        raise CheckpointError(f"--resume: run folder {str(run_dir)!r} does not exist")
    if not path.is_file():
        raise CheckpointError(f"--resume: {str(path)!r} is missing; is this a run folder?")
    from rnnkit.training.jsonio import read_json_object

    return read_json_object(path, context="--resume: ")


#: Top-level keys of older forecast/classify config.json files, now ``train.<key>``.
_MOVED_TO_TRAIN = ("threads", "max_steps")


def resolve_config(
    cls: type[T],
    config: Optional[Path] = None,
    overrides: list[str] | tuple[str, ...] = (),
    *,
    resume: Optional[Path] = None,
    named: Optional[dict] = None,
    run_keys: tuple[str, ...] = (),
    base: Optional[dict] = None,
) -> T:
    """The typed config of a run: task defaults < resumed config.json (or ``base``) <
    ``--config`` < ``--set``/``--a.b`` overrides < ``named`` typed options (dotted key ->
    value; a None value sets None: leave out what was not given, see train_options). Merged once and validated once (training.config.load_config).

    ``run_keys``: entries a task writes into ``config.json`` beside the config tables
    (e.g. text's ``data_file``); they are left out of the resumed base.
    """
    from rnnkit.training.config import load_config

    if base is None and resume is not None:
        base = read_run_config(Path(resume))
    for key in run_keys if base is not None else ():
        base.pop(key, None)
    for key in _MOVED_TO_TRAIN if base is not None else ():  # runs saved before train.<key>
        if key in base and key not in {f.name for f in dataclasses.fields(cls)}:
            base.setdefault("train", {}).setdefault(key, base.pop(key))
    model = base.get("model") if base is not None else None
    if isinstance(model, dict) and "rnn_impl" in model:  # classify runs saved before backend
        model.setdefault("backend", {"rnnkit": "auto"}.get(model["rnn_impl"], model["rnn_impl"]))
        model.pop("rnn_impl")
    cfg = load_config(cls, path=config, overrides=list(overrides), base=base, named=named)
    train = getattr(cfg, "train", None)
    if isinstance(getattr(train, "device", None), str):
        from rnnkit.training.device import resolve_device

        resolve_device(train.device)  # an unknown or absent device fails before any work
    return cfg


def resolve_run_dir(out: Optional[Path], resume: Optional[Path], name: str) -> Path:
    """``--resume`` wins (and must agree with ``--out``); else ``--out``; else runs/<name>-<time>."""
    if resume is not None:
        if out is not None and Path(out).resolve() != Path(resume).resolve():
            raise ConfigError(f"--out {str(out)!r} and --resume {str(resume)!r} name different folders")
        return Path(resume)
    if out is not None:
        return Path(out)
    return Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def prepare_run(
    cls: type[T],
    name: str,
    *,
    out: Optional[Path] = None,
    config: Optional[Path] = None,
    overrides: list[str] | tuple[str, ...] = (),
    named: Optional[dict] = None,
    resume: Optional[Path] = None,
    run_keys: tuple[str, ...] = (),
) -> tuple[T, Path]:
    """Resolve (config, run folder) for a training command; see the module docstring."""
    cfg = resolve_config(cls, config, overrides, resume=resume, named=named, run_keys=run_keys)
    return cfg, resolve_run_dir(out, resume, name)


def check_resume(run_dir: Path, model_config: dict) -> None:
    """Fail early (before any work) when ``--resume`` meets a different model config."""
    from rnnkit.training.checkpoint import check_model_config

    check_model_config(Path(run_dir) / "checkpoints" / "last", model_config, f"cannot resume from {run_dir}")


@contextlib.contextmanager
def warnings_as_lines():
    """Warnings (a constant series, the log scale switched off, audio left out of a folder, ...) as one
    ``warning:`` line each on stderr."""
    def show(message, category, filename, lineno, file=None, line=None):
        typer.echo(printable(f"warning: {message}"), err=True)

    old = warnings.showwarning
    warnings.showwarning = show
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")  # each distinct warning once
            warnings.showwarning = show
            yield
    finally:
        warnings.showwarning = old
