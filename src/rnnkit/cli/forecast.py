"""``rnnkit forecast train | predict | backtest``: CSV in, backtested probabilistic forecasts out.

Each command parses its options into a :class:`ForecastConfig` (defaults, then
``--config FILE.toml``, then ``--set key=value``, then the named options) and calls one
plain function from :mod:`rnnkit.tasks.forecast.pipeline`, which runs a
:class:`~rnnkit.tasks.forecast.estimator.Forecaster`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnnkit.cli import common
from rnnkit.errors import printable
from rnnkit.tasks.forecast.config import ForecastConfig

__all__ = ["build_config", "register", "train", "predict", "backtest"]

Data = Annotated[
    str | None,
    typer.Option(
        "--data", metavar="TEXT",
        help="CSV file, or a bundled series: airline (default), sunspots, elec_equip, co2.",
    ),
]
Target = Annotated[
    list[str] | None,
    typer.Option("--target", metavar="TEXT", help="Target column (repeatable; default: every other column)."),
]
TimeCol = Annotated[
    str | None, typer.Option("--time-col", metavar="TEXT", help="Time column: dates, or integer steps.")
]
GroupCol = Annotated[
    str | None,
    typer.Option(
        "--group-col", metavar="TEXT", help="Column naming the series; all groups train one global model."
    ),
]
FutureCov = Annotated[
    list[str] | None,
    typer.Option(
        "--future-covariate", metavar="TEXT",
        help="Known-future column (repeatable); predict needs its next H rows, targets empty.",
    ),
]
PastCov = Annotated[
    list[str] | None,
    typer.Option("--past-covariate", metavar="TEXT", help="Past-covariate column (repeatable)."),
]
Freq = Annotated[
    str | None,
    typer.Option(
        "--freq", metavar="TEXT",
        help="Frequency (pandas alias, e.g. MS, W-SAT, D; or an integer step). Default: inferred.",
    ),
]
Missing = Annotated[
    str | None,
    typer.Option(
        "--missing", metavar="TEXT",
        help="Missing values and gaps: error (default for files), interpolate or ffill; "
        "a bundled series brings its own policy (co2: interpolate).",
    ),
]
Horizon = Annotated[
    int | None,
    typer.Option(
        "--horizon", metavar="INT",
        help="Steps to forecast (H). Default for bundled series: their benchmark horizon.",
    ),
]
Season = Annotated[
    int | None,
    typer.Option(
        "--season", metavar="INT",
        help="Seasonal period m. Default: from the frequency (12 monthly, 52 weekly, ...).",
    ),
]
Interval = Annotated[
    float | None,
    typer.Option(
        "--interval", metavar="FLOAT",
        help="Central interval probability for lower/upper (default 0.8); 0 turns bands off.",
    ),
]


TestSize = Annotated[int | None, typer.Option(
    "--test-size", metavar="INT", help="Points held out at the end (default: H).")]
StaticCov = Annotated[list[str] | None, typer.Option(
    "--static-covariate", metavar="TEXT", help="Per-series constant column (repeatable).")]
Log = Annotated[str | None, typer.Option(
    "--log", metavar="TEXT", help="Log scale: auto (when all > 0), log, linear.")]
HiddenSize = Annotated[int | None, typer.Option("--hidden-size", metavar="INT", help="GRU units (default: the Forecaster's).")]
Members = Annotated[int | None, typer.Option(
    "--members", metavar="INT", help="Seeds per lookback (default: the Forecaster's).")]
Folds = Annotated[int, typer.Option("--folds", metavar="INT", help="Forecast origins.")]
Step = Annotated[int | None, typer.Option(
    "--step", metavar="INT", help="Steps between origins (default H).")]
Refit = Annotated[bool, typer.Option("--refit/--no-refit", help="Retrain at every origin.")]
ModelDir = Annotated[Path, typer.Option("--model", metavar="PATH", help="DIR/model of a train run (or DIR).")]
History = Annotated[str, typer.Option(
    "--data", metavar="TEXT", help="CSV with the history to forecast from, or a bundled series name.")]
OutCsv = Annotated[Path, typer.Option("--out", metavar="PATH", help="CSV to write: time, forecast, lower, upper.")]
# The forecast task's defaults of the options every train/backtest command shares
# ("none": the Forecaster's own step budget, see docs/forecaster.md).
Epochs = Annotated[float | None, typer.Option(
    "--epochs", metavar="FLOAT", show_default="none",
    help="Windows drawn per member / distinct training windows (sets train.epochs).")]
TimeBudget = common.shown(common.TimeBudget, "none")
MaxSteps = common.shown(common.MaxSteps, "none")
Seed = common.shown(common.Seed, 0)
Device = common.shown(common.Device, "cpu")
Threads = common.shown(common.Threads, 1)


def build_config(
    config: Path | None, set_: list[str] | None, ctx: typer.Context | None = None,
    resume: Path | None = None, base: dict | None = None, **named
) -> ForecastConfig:
    """Defaults (or ``base``) < --config < --set/--a.b overrides < the named options given."""
    return common.resolve_config(ForecastConfig, config, common.overrides(ctx, set_),
                                 resume=resume, base=base, named=named)


def _series_overrides(data, target, time_col, group_col, freq, missing, horizon, season) -> dict:
    """The ``[data]`` overrides that train and backtest share (given ones only)."""
    named = {"data.data": data, "data.target": target or None, "data.time_col": time_col,
             "data.group_col": group_col, "data.freq": freq, "data.missing": missing,
             "data.horizon": horizon, "data.season": season}
    return {key: value for key, value in named.items() if value is not None}


def _resume_base(resume: Path | None) -> dict | None:
    """--resume DIR: DIR's config.json is the base, as for every task."""
    return None if resume is None else common.read_run_config(Path(resume))


def _echo(text: str) -> None:
    """Print a line that may hold names from the user's CSV, control characters escaped."""
    typer.echo(printable(text))


def train(
    ctx: typer.Context, data: Data = None, target: Target = None, time_col: TimeCol = None,
    group_col: GroupCol = None, static_covariate: StaticCov = None, past_covariate: PastCov = None,
    future_covariate: FutureCov = None, freq: Freq = None, missing: Missing = None,
    horizon: Horizon = None, season: Season = None, test_size: TestSize = None, log_: Log = None,
    interval: Interval = None, hidden_size: HiddenSize = None, members: Members = None,
    epochs: Epochs = None, time_budget: TimeBudget = None, max_steps: MaxSteps = None,
    out: common.Out = None, config: common.Config = None, set_: common.Set = None,
    seed: Seed = None, device: Device = None, threads: Threads = None,
    resume: common.Resume = None, overwrite: common.Overwrite = False,
) -> None:
    """Fit a Forecaster on all but the last H points, forecast them, compare with baselines, write DIR."""
    from rnnkit.tasks.forecast.pipeline import train_forecaster

    named = {
        **_series_overrides(data, target, time_col, group_col, freq, missing, horizon, season),
        "data.static_covariates": static_covariate or None,
        "data.past_covariates": past_covariate or None,
        "data.future_covariates": future_covariate or None,
        "data.test_size": test_size, "model.transform": log_,
        "model.hidden_size": hidden_size, "model.members": members,
        **common.train_options(epochs, time_budget, max_steps, seed, device, threads),
    }
    named = {key: value for key, value in named.items() if value is not None}
    if interval is not None:  # 0 turns the bands off
        named["data.interval"] = interval if interval > 0 else None
    cfg = build_config(config, set_, ctx, base=_resume_base(resume), **named)
    run_dir = common.resolve_run_dir(out, resume, "forecast")
    with common.warnings_as_lines():
        train_forecaster(cfg, run_dir, log=_echo, resume=resume is not None, overwrite=overwrite)
    typer.echo(f"wrote {run_dir}/metrics.json, forecast.csv, forecast.png, model/")


def predict(model: ModelDir, data: History, out: OutCsv, missing: Missing = None) -> None:
    """Forecast H steps past the end of every series in --data with a saved model."""
    from rnnkit.tasks.forecast.pipeline import predict as predict_

    with common.warnings_as_lines():
        frame = predict_(model, data, out, missing=missing)
    _echo(frame.to_string(index=False, max_rows=20))
    _echo(f"wrote {out}")


def backtest(
    ctx: typer.Context, data: Data = None, target: Target = None, time_col: TimeCol = None,
    group_col: GroupCol = None, freq: Freq = None, missing: Missing = None,
    horizon: Horizon = None, season: Season = None, folds: Folds = 3, step: Step = None,
    refit: Refit = False, epochs: Epochs = None, time_budget: TimeBudget = None,
    max_steps: MaxSteps = None, out: common.Out = None, config: common.Config = None,
    set_: common.Set = None, seed: Seed = None, device: Device = None, threads: Threads = None,
    resume: common.Resume = None, overwrite: common.Overwrite = False,
) -> None:
    """Rolling-origin evaluation (Forecaster.cross_validation) against the baselines."""
    from rnnkit.tasks.forecast.pipeline import backtest as backtest_

    cfg = build_config(config, set_, ctx, base=_resume_base(resume), **{
        **_series_overrides(data, target, time_col, group_col, freq, missing, horizon, season),
        **common.train_options(epochs, time_budget, max_steps, seed, device, threads),
    })
    run_dir = common.resolve_run_dir(out, resume, "forecast-backtest")
    with common.warnings_as_lines():
        backtest_(cfg, run_dir, folds=folds, step=step, refit=refit, log=_echo, resume=resume is not None,
                  overwrite=overwrite)
    typer.echo(f"wrote {run_dir}/backtest.json, backtest.csv, backtest.png")


def register(app: typer.Typer) -> None:
    fc = typer.Typer(
        help="Time-series forecasting from CSV: train, predict, backtest.", no_args_is_help=True
    )
    app.add_typer(fc, name="forecast")
    fc.command("train", context_settings=common.EXTRA_ARGS)(train)
    fc.command("predict")(predict)
    fc.command("backtest", context_settings=common.EXTRA_ARGS)(backtest)
