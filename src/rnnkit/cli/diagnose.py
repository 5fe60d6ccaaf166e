"""``rnnkit diagnose``: see backpropagation through time on the long-memory tasks.

Trains the Elman RNN, LSTM, GRU and MinGRU briefly on one task (adding, copy, digits) at
several lengths T, prints the table (solved or not, steps to solve, effective memory
span) and writes it with two plots into ``--out``. ``--json`` prints
``{"task": ..., "results": [{"cell", "T", "solved", "steps", "effective_span", ...}]}``.
``--model DIR`` instead measures the gradient flow of a saved diagnostics model (a
``models/<cell>-T<T>`` folder of an earlier run) on its own task's data. See
docs/tutorial.md and :mod:`rnnkit.diagnostics`.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from rnnkit.errors import ConfigError

__all__ = ["register", "diagnose", "parse_ints"]


def parse_ints(option: str, text: str) -> tuple[int, ...]:
    """"25,50,100" -> (25, 50, 100); anything else is a one-line ConfigError."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ConfigError(f"{option}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise ConfigError(f"{option}: expected comma-separated integers, got {text!r}")
    return values


def diagnose(
    task: Annotated[str, typer.Option(metavar="TEXT", help="adding, copy or digits.")] = "adding",
    lengths: Annotated[Optional[str], typer.Option(
        "--lengths", metavar="TEXT",
        help="Comma-separated T values (default: 25,50,100,200 for adding).")] = None,
    cells: Annotated[str, typer.Option(
        metavar="TEXT", help="Comma-separated cells.")] = "rnn,lstm,gru,mingru",
    hidden_size: Annotated[int, typer.Option(metavar="INT", help="Hidden size H.")] = 32,
    batch_size: Annotated[int, typer.Option(metavar="INT", help="Sequences per training step.")] = 32,
    max_steps: Annotated[int, typer.Option(
        metavar="INT", help="Training steps at most, per cell and T.")] = 3000,
    lr: Annotated[float, typer.Option(metavar="FLOAT", help="Adam learning rate.")] = 1e-2,
    eval_every: Annotated[int, typer.Option(
        metavar="INT", help="Score the held-out set every N steps.")] = 100,
    eval_size: Annotated[int, typer.Option(
        metavar="INT", help="Held-out sequences (adding, copy).")] = 500,
    seed: Annotated[int, typer.Option(metavar="INT", help="Seed for weights and data.")] = 0,
    threads: Annotated[int, typer.Option(
        metavar="INT", help="torch threads while training (1 is fastest at the default sizes).")] = 1,
    out: Annotated[Optional[Path], typer.Option(
        "--out", metavar="PATH",
        help="Folder for the table, plots and models (default runs/diagnose-<time>).")] = None,
    model: Annotated[Optional[Path], typer.Option(
        "--model", metavar="PATH",
        help="Measure a saved diagnostics model (models/<cell>-T<T>) instead.")] = None,
    loss: Annotated[str, typer.Option(
        metavar="TEXT", help="With --model: auto (the task loss), last or every (a fixed readout).")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on a terminal.")] = True,
) -> None:
    """Train RNN, LSTM, GRU and MinGRU on a long-memory task; table and gradient-flow plots."""
    from rnnkit.diagnostics.sweep import DiagnoseConfig
    from rnnkit.diagnostics.sweep import diagnose as run

    folder = out if out is not None else Path("runs") / f"diagnose-{time.strftime('%Y%m%d-%H%M%S')}"
    if model is not None:
        from rnnkit.diagnostics.saved import inspect_model

        result = inspect_model(model, folder, loss=loss, seed=seed)
        typer.echo(json.dumps(result) if as_json else _describe_model(result))
        return
    cfg = DiagnoseConfig(
        task=task, lengths=parse_ints("--lengths", lengths) if lengths else (),
        cells=tuple(c.strip() for c in cells.split(",") if c.strip()), hidden_size=hidden_size,
        batch_size=batch_size, max_steps=max_steps, lr=float(lr), eval_every=eval_every,
        eval_size=eval_size, seed=seed, threads=threads,
    )
    summary, _ = run(cfg, folder, progress=progress and not as_json,
                     log=None if as_json else typer.echo)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    from rnnkit.diagnostics.report import table

    typer.echo("")
    typer.echo(table(summary))
    typer.echo(f"\nwrote {folder}/table.txt, gradient_flow.png, accuracy_vs_T.png, models/")


def _describe_model(result: dict) -> str:
    spans = ", ".join(f"{k}: {v}" for k, v in result["effective_span"].items())
    return (f"{result['cell']} on {result['task']} (T={result['T']}), loss {result['loss']:.4g}; "
            f"effective span (steps) {spans}\nwrote {result['plot']}")


def register(app: typer.Typer) -> None:
    app.command("diagnose")(diagnose)
