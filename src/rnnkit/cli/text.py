"""``rnnkit text train | evaluate | generate``: character-level language models.

    rnnkit text train --data plays.txt --out runs/lm --time-budget 600
    rnnkit text evaluate --model runs/lm --data other.txt [--json]
    rnnkit text generate --model runs/lm --prime "Romeo:" --length 400 --temperature 0.8

Each command parses its options and calls one function of :mod:`rnnkit.tasks.text.pipeline`.
Unseen characters (in the validation part, an evaluated file or the prime) are mapped
to the unknown symbol and reported in one ``warning:`` line on stderr.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer

from rnnkit.cli import common
from rnnkit.data.text import check_unicode, describe_chars

__all__ = ["register"]

Data = Annotated[Optional[Path], typer.Option(
    "--data", metavar="PATH", help="UTF-8 text file (default: the bundled ~1 MB Shakespeare sample).")]
Model = Annotated[Path, typer.Option("--model", metavar="PATH", help="Run folder of `rnnkit text train`.")]
Prime = Annotated[str, typer.Option("--prime", metavar="TEXT", help="Text to start from (printed first).")]
Length = Annotated[int, typer.Option("--length", metavar="INT", help="Characters to generate.")]
Temperature = Annotated[float, typer.Option("--temperature", metavar="FLOAT",
                                            help="0 = greedy; <1 safer, >1 wilder.")]
TopK = Annotated[Optional[int], typer.Option("--top-k", metavar="INT", help="Sample among the k likeliest.")]
TopP = Annotated[Optional[float], typer.Option("--top-p", metavar="FLOAT",
                                               help="Nucleus: smallest set with mass >= p.")]
SampleSeed = Annotated[Optional[int], typer.Option("--seed", metavar="INT", help="Same seed, same text.")]
GenThreads = Annotated[Optional[int], typer.Option(
    "--threads", metavar="INT", show_default="1",
    help="torch CPU threads while generating (one character per step: 1 is fastest).")]
EvalThreads = Annotated[Optional[int], typer.Option(
    "--threads", metavar="INT", show_default="the run's train.threads, else torch's",
    help="torch CPU threads while scoring.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
EvalData = Annotated[Path, typer.Option("--data", metavar="PATH", help="UTF-8 text file.")]


def _warn_unseen(what: str, unseen: Counter) -> None:
    if unseen:
        n = sum(unseen.values())
        typer.echo(f"warning: {what}: {n} character(s) not in the model's vocabulary were "
                   f"mapped to the unknown symbol: {describe_chars(unseen)}", err=True)


def train(ctx: typer.Context, data: Data = None, out: common.Out = None,
          epochs: common.shown(common.Epochs, 10) = None,
          time_budget: common.shown(common.TimeBudget, "none") = None,
          max_steps: common.shown(common.MaxSteps, "none") = None,
          config: common.Config = None, set_: common.Set = None,
          seed: common.shown(common.Seed, 0) = None,
          device: common.shown(common.Device, "auto") = None,
          threads: common.shown(common.Threads, "torch's") = None,
          resume: common.Resume = None, overwrite: common.Overwrite = False) -> None:
    """Train on a text file; write metrics.json, loss.png and model/ into --out.

    --time-budget counts training, each epoch's validation and the final scoring.
    """
    from rnnkit.tasks.text.config import TextConfig
    from rnnkit.tasks.text.pipeline import train_text

    if resume is not None and data is None:  # the resumed run's own text by default
        saved = common.read_run_config(resume).get("data_file")
        data = Path(saved) if saved else None
    named = common.train_options(epochs, time_budget, max_steps, seed, device, threads)
    cfg, run_dir = common.prepare_run(TextConfig, "text", out=out, config=config,
                                      overrides=common.overrides(ctx, set_), named=named,
                                      resume=resume, run_keys=("data_file",))
    metrics = train_text(cfg, data, run_dir, resume=resume is not None, overwrite=overwrite)
    _warn_unseen("validation text", Counter(metrics["val_unseen_chars"]))
    typer.echo(f"validation: {metrics['val_bits_per_char']:.4f} bits/char, "
               f"{metrics['val_nats_per_char']:.4f} nats/char, perplexity "
               f"{metrics['val_perplexity']:.3f} ({metrics['val_chars']} characters)")
    typer.echo(f"wrote {run_dir}/metrics.json, loss.png, model/")

def evaluate(model: Model, data: EvalData, as_json: JsonFlag = False,
             threads: EvalThreads = None) -> None:
    """Bits per character (and nats, perplexity) of a trained model on a text file."""
    from rnnkit.tasks.text.pipeline import evaluate_text

    report = evaluate_text(model, data, threads=threads, progress=not as_json)
    _warn_unseen(f"text file {data}", Counter(report["unseen_chars"]))
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        typer.echo(f"{report['bits_per_char']:.4f} bits/char, {report['nats_per_char']:.4f} "
                   f"nats/char, perplexity {report['perplexity']:.3f} "
                   f"({report['chars_scored']} characters scored)")

def generate(model: Model, prime: Prime = "", length: Length = 500,
             temperature: Temperature = 1.0, top_k: TopK = None, top_p: TopP = None,
             seed: SampleSeed = None, threads: GenThreads = None) -> None:
    """Sample text, streaming each character as it is drawn."""
    from rnnkit.tasks.text.pipeline import GENERATE_THREADS, generate_text

    check_unicode(prime, "--prime")
    chars, unseen = generate_text(model, prime, length, temperature, top_k, top_p, seed,
                                  threads=GENERATE_THREADS if threads is None else threads)
    _warn_unseen("--prime", unseen)
    sys.stdout.write(prime)
    for ch in chars:
        sys.stdout.write(ch)
        sys.stdout.flush()
    sys.stdout.write("\n")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    text = typer.Typer(help="Character-level language models: train, evaluate, generate.",
                       no_args_is_help=True)
    app.add_typer(text, name="text")
    text.command("train", context_settings=common.EXTRA_ARGS)(train)
    text.command("evaluate")(evaluate)
    text.command("generate")(generate)
