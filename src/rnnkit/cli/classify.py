"""``rnnkit classify train|predict|evaluate``: sequence classification from ``.ts`` files
or folders of WAV files. Each command parses its arguments and calls one function of
:mod:`rnnkit.tasks.classify.pipeline`, itself a thin layer over the
:class:`rnnkit.tasks.classify.Classifier` estimator (what Python users fit directly).

    rnnkit classify train --train TRAIN.ts --test TEST.ts --out runs/jv
    rnnkit classify train --train digits/ --label-pattern '^(\\d)_' \\
        --group-pattern '^\\d_(.+)\\.wav$' --out runs/digits
    rnnkit classify train --resume runs/jv                      # continue an interrupted run
    rnnkit classify predict --model runs/digits a.wav b.wav     # input<TAB>label<TAB>probability
    rnnkit classify predict --model runs/digits my_recordings/  # every WAV in a folder
    rnnkit classify predict --model runs/digits --adapt my_voice/  # adapted to that voice first
    rnnkit classify evaluate --model runs/jv --test TEST.ts     # metrics as JSON

Configuration: ``--config FILE.toml`` with ``[train]``, ``[model]``, ``[data]`` and
``[audio]`` tables, then ``--set key=value`` / ``--model.cell gru`` overrides, then the
dedicated options below. The defaults are those of ``ClassifyConfig``. With
``--resume DIR`` the base is DIR's ``config.json`` instead (its data paths too, unless
``--train`` / ``--test`` are given), and training continues from DIR's last checkpoint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rnnkit.cli import common
from rnnkit.errors import printable

__all__ = ["register"]

classify_app = typer.Typer(
    name="classify",
    help="Sequence classification: .ts files or folders of WAV files (speech).",
    no_args_is_help=True,
    add_completion=False,
)

LabelPattern = typer.Option(None, "--label-pattern", metavar="REGEX", help="Regex on file names; its first group (or whole match) is the label. Default: class sub-folders.")
GroupPattern = typer.Option(None, "--group-pattern", metavar="REGEX", help="Regex on file names giving the group (e.g. speaker) kept on one side of every split.")


@classify_app.command("train", context_settings=common.EXTRA_ARGS)
def train(
    ctx: typer.Context,
    train_path: Optional[Path] = typer.Option(None, "--train", metavar="PATH", help="Training data: a .ts file or a folder of WAV files (with --resume: the run's by default)."),
    test_path: Optional[Path] = typer.Option(None, "--test", metavar="PATH", help="Test data; default: hold out data.test_fraction of the groups."),
    out: common.Out = None,
    label_pattern: Optional[str] = LabelPattern,
    group_pattern: Optional[str] = GroupPattern,
    augment: bool = typer.Option(False, "--augment", show_default=False, help="Augment while training: audio gets random speed, shift and noise; .ts series get Gaussian jitter."),
    epochs: common.shown(common.Epochs, 50) = None,
    time_budget: common.shown(common.TimeBudget, "none") = None,
    max_steps: common.shown(common.MaxSteps, "none") = None,
    config: common.Config = None,
    set_: common.Set = None,
    seed: common.shown(common.Seed, 0) = None,
    device: common.shown(common.Device, "auto") = None,
    threads: common.shown(common.Threads, 1) = None,
    resume: common.Resume = None,
    overwrite: common.Overwrite = False,
) -> None:
    """Train a classifier; write metrics.json, confusion.png and the model to --out."""
    from rnnkit.errors import ConfigError
    from rnnkit.tasks.classify.config import RUN_PATH_KEYS, ClassifyConfig
    from rnnkit.tasks.classify.pipeline import train_classifier

    if resume is not None:
        saved = common.read_run_config(resume)
        train_path = train_path or (Path(saved["train_path"]) if saved.get("train_path") else None)
        test_path = test_path or (Path(saved["test_path"]) if saved.get("test_path") else None)
    if train_path is None:
        raise ConfigError("--train is required: a .ts file or a folder of WAV files")
    named = common.train_options(epochs, time_budget, max_steps, seed, device, threads)
    named.update({key: value for key, value in (("data.augment", augment or None),
                  ("data.label_pattern", label_pattern), ("data.group_pattern", group_pattern))
                  if value is not None})
    cfg = common.resolve_config(ClassifyConfig, config, common.overrides(ctx, set_), resume=resume,
                                named=named, run_keys=RUN_PATH_KEYS)
    run_dir = common.resolve_run_dir(out, resume, "classify")
    with common.warnings_as_lines():
        train_classifier(train_path, run_dir, test_path, cfg, log=lambda line: typer.echo(printable(line)),
                         resume=resume is not None, overwrite=overwrite)


@classify_app.command("predict")
def predict(
    model: Path = typer.Option(..., "--model", metavar="PATH", help="A run folder written by 'classify train' (or its model/ folder)."),
    inputs: list[Path] = typer.Argument(..., metavar="PATH...", help="WAV files, .ts files (one line per case), or one folder of WAV files."),
    adapt: bool = typer.Option(False, "--adapt", show_default=False, help="First adapt the network's batch normalisation to all the inputs (unlabelled; e.g. a folder of one voice saying several words)."),
) -> None:
    """Print input<TAB>label<TAB>probability for each WAV file or .ts case.

    Given one folder, every WAV file in it is predicted; a file that cannot be read
    gets a one-line warning on stderr and is skipped. --adapt re-estimates the batch-norm
    statistics of the network from these inputs before predicting them (AdaBN).
    """
    from rnnkit.tasks.classify.pipeline import predict_classifier
    from rnnkit.tasks.classify.wav_folder import predict_wav_folder

    warn = lambda line: typer.echo(printable(f"warning: {line}"), err=True)  # noqa: E731
    if len(inputs) == 1 and inputs[0].is_dir():
        rows = predict_wav_folder(model, inputs[0], warn=warn, adapt=adapt)
    else:
        rows = predict_classifier(model, inputs, adapt=adapt, warn=warn)
    for name, label, prob in rows:
        typer.echo(printable(f"{name}\t{label}\t{prob:.4f}"))


@classify_app.command("evaluate")
def evaluate(
    model: Path = typer.Option(..., "--model", metavar="PATH", help="A run folder written by 'classify train' (or its model/ folder)."),
    test_path: Path = typer.Option(..., "--test", metavar="PATH", help="Labelled test data: a .ts file or a folder of WAV files."),
    label_pattern: Optional[str] = LabelPattern,
    group_pattern: Optional[str] = GroupPattern,
    out: Optional[Path] = typer.Option(None, "--out", metavar="PATH", help="Also write metrics.json and confusion.png here."),
) -> None:
    """Print accuracy, per-class precision/recall/F1/support and macro F1 as JSON."""
    from rnnkit.tasks.classify.pipeline import evaluate_classifier, metrics_text

    with common.warnings_as_lines():
        metrics = evaluate_classifier(model, test_path, out, label_pattern, group_pattern)
    typer.echo(metrics_text(metrics))


def register(app: typer.Typer) -> None:
    app.add_typer(classify_app, name="classify")
