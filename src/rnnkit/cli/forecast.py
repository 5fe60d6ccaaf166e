"""``rnnkit forecast train | predict | backtest``: CSV in, backtested probabilistic forecasts out.

Each command parses its options into a :class:`ForecastConfig` (defaults, then
``--config FILE.toml``, then ``--set key=value``, then the named options) and calls one
plain function from :mod:`rnnkit.training.forecast`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rnnkit.cli import common
from rnnkit.errors import printable
from rnnkit.training.forecast_config import ForecastConfig, load_forecast_config

__all__ = ["build_config", "register"]

Data = Annotated[
    str | None,
    typer.Option(
        "--data",
        help="CSV file, or a bundled series: airline (default), sunspots, elec_equip, co2.",
    ),
]
Target = Annotated[
    list[str] | None,
    typer.Option("--target", help="Target column (repeatable; default: every other column)."),
]
TimeCol = Annotated[
    str | None, typer.Option("--time-col", help="Time column: dates, or integer steps.")
]
GroupCol = Annotated[
    str | None,
    typer.Option(
        "--group-col", help="Column naming the series; all groups train one global model."
    ),
]
FutureCov = Annotated[
    list[str] | None,
    typer.Option(
        "--future-covariate",
        help="Known-future column (repeatable); predict needs its next H rows, targets empty.",
    ),
]
PastCov = Annotated[
    list[str] | None,
    typer.Option("--past-covariate", help="Past-covariate column (repeatable)."),
]
Freq = Annotated[
    str | None,
    typer.Option(
        "--freq",
        help="Frequency (pandas alias, e.g. MS, W-SAT, D; or an integer step). Default: inferred.",
    ),
]
Missing = Annotated[
    str | None,
    typer.Option(
        "--missing",
        help="Missing values and gaps: error (default for files), interpolate or ffill; "
        "a bundled series brings its own policy (co2: interpolate).",
    ),
]
Horizon = Annotated[
    int | None,
    typer.Option(
        "--horizon",
        help="Steps to forecast (H). Default for bundled series: their benchmark horizon.",
    ),
]
Season = Annotated[
    int | None,
    typer.Option(
        "--season",
        help="Seasonal period m. Default: from the frequency (12 monthly, 52 weekly, ...).",
    ),
]
Interval = Annotated[
    float | None,
    typer.Option(
        "--interval",
        help="Central interval probability for lower/upper (default 0.8); 0 turns bands off.",
    ),
]


def build_config(
    config: Path | None, set_: list[str] | None, ctx: typer.Context | None = None,
    base: dict | None = None, **named
) -> ForecastConfig:
    """Defaults (or ``base``) < --config < --set/--a.b overrides < the named options given."""
    extra = common.overrides(ctx, set_)
    extra += [f"{key}={_toml(value)}" for key, value in named.items() if value not in (None, [])]
    return load_forecast_config(config, extra, base=base)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _series_overrides(data, target, time_col, group_col, freq, missing, horizon, season) -> dict:
    """The ``[data]`` overrides that train and backtest share (None: keep the config's)."""
    return {
        "data.data": data,
        "data.target": target,
        "data.time_col": time_col,
        "data.group_col": group_col,
        "data.freq": freq,
        "data.missing": missing,
        "data.horizon": horizon,
        "data.season": season,
    }


def _echo(text: str) -> None:
    """Print a line that may hold names from the user's CSV, control characters escaped."""
    typer.echo(printable(text))


def register(app: typer.Typer) -> None:
    fc = typer.Typer(
        help="Time-series forecasting from CSV: train, predict, backtest.", no_args_is_help=True
    )
    app.add_typer(fc, name="forecast")

    @fc.command("train", context_settings=common.EXTRA_ARGS)
    def train(
        ctx: typer.Context,
        data: Data = None,
        target: Target = None,
        time_col: TimeCol = None,
        group_col: GroupCol = None,
        past_covariate: PastCov = None,
        future_covariate: FutureCov = None,
        freq: Freq = None,
        missing: Missing = None,
        horizon: Horizon = None,
        season: Season = None,
        test_size: Annotated[
            int | None,
            typer.Option("--test-size", help="Points held out at the end (default: H)."),
        ] = None,
        window: Annotated[
            int | None,
            typer.Option("--window", help="RNN input length (default max(2H, m, 8))."),
        ] = None,
        log_: Annotated[
            str | None,
            typer.Option("--log", help="Log transform: auto (when all > 0), on, off."),
        ] = None,
        diff: Annotated[
            int | None,
            typer.Option("--diff", help="Difference at this lag before scaling (0: none)."),
        ] = None,
        calendar: Annotated[
            bool | None,
            typer.Option(
                "--calendar/--no-calendar", help="Calendar features as known-future inputs."
            ),
        ] = None,
        interval: Interval = None,
        strategy: Annotated[
            str | None,
            typer.Option("--strategy", help="direct (default), recursive or seq2seq."),
        ] = None,
        cell: Annotated[
            str | None, typer.Option("--cell", help="gru (default), lstm or rnn.")
        ] = None,
        hidden_size: Annotated[int | None, typer.Option("--hidden-size")] = None,
        members: Annotated[
            int | None,
            typer.Option("--members", help="Ensemble members trained together (default 3)."),
        ] = None,
        epochs: Annotated[int | None, typer.Option("--epochs")] = None,
        time_budget: Annotated[
            float | None, typer.Option("--time-budget", help="Seconds of training at most.")
        ] = None,
        max_steps: Annotated[
            int | None,
            typer.Option("--max-steps", help="Optimizer steps at most (default 800)."),
        ] = None,
        out: common.Out = None,
        config: common.Config = None,
        set_: common.Set = None,
        seed: common.Seed = None,
        resume: common.Resume = None,
    ) -> None:
        """Train on all but the last H points, forecast them, compare with baselines, write DIR."""
        from rnnkit.training.forecast import train_forecaster

        # --resume DIR: DIR's saved config (written by the trainer into DIR/run) is the base.
        base = common.read_run_config(Path(resume) / "run") if resume is not None else None
        if base is not None and not (Path(resume) / "run" / "checkpoints" / "last").is_dir():
            from rnnkit.errors import CheckpointError

            raise CheckpointError(
                f"--resume: {str(Path(resume) / 'run')!r} holds no checkpoint; forecast runs write "
                "them only with --set train.checkpoint=true (off by default: it costs ~25% of a short run)"
            )
        cfg = build_config(
            config,
            set_,
            ctx,
            base,
            **{
                **_series_overrides(data, target, time_col, group_col, freq, missing, horizon, season),
                "data.past_covariates": past_covariate,
                "data.future_covariates": future_covariate,
                "data.test_size": test_size,
                "data.window": window,
                "data.log": log_,
                "data.diff": diff,
                "data.calendar": calendar,
                "model.strategy": strategy,
                "model.cell": cell,
                "model.hidden_size": hidden_size,
                "model.members": members,
                "train.epochs": epochs,
                "train.time_budget": time_budget,
                "train.seed": seed,
                "max_steps": max_steps,
            },
        )
        if interval is not None:
            from dataclasses import replace

            cfg = replace(cfg, data=replace(cfg.data, interval=interval if interval > 0 else None))
            cfg.data.__post_init__()
        run_dir = common.resolve_run_dir(out, resume, "forecast")
        train_forecaster(cfg, run_dir, log=_echo, resume=resume is not None)
        typer.echo(f"wrote {run_dir}/metrics.json, forecast.csv, forecast.png, model/")

    @fc.command("predict")
    def predict_cmd(
        model: Annotated[Path, typer.Option("--model", help="DIR/model of a train run (or DIR).")],
        data: Annotated[
            Path, typer.Option("--data", help="CSV with the history to forecast from.")
        ],
        out: Annotated[
            Path, typer.Option("--out", help="CSV to write: time, forecast, lower, upper.")
        ],
        missing: Missing = None,
    ) -> None:
        """Forecast H steps past the end of --data with a saved model."""
        from rnnkit.training.forecast import predict

        frame = predict(model, data, out, missing=missing)
        _echo(frame.to_string(index=False, max_rows=20))
        _echo(f"wrote {out}")

    @fc.command("backtest", context_settings=common.EXTRA_ARGS)
    def backtest_cmd(
        ctx: typer.Context,
        data: Data = None,
        target: Target = None,
        time_col: TimeCol = None,
        group_col: GroupCol = None,
        freq: Freq = None,
        missing: Missing = None,
        horizon: Horizon = None,
        season: Season = None,
        folds: Annotated[int, typer.Option("--folds", help="Forecast origins.")] = 3,
        step: Annotated[
            int | None, typer.Option("--step", help="Steps between origins (default H).")
        ] = None,
        refit: Annotated[
            bool, typer.Option("--refit/--no-refit", help="Retrain at every origin.")
        ] = False,
        epochs: Annotated[int | None, typer.Option("--epochs")] = None,
        out: common.Out = None,
        config: common.Config = None,
        set_: common.Set = None,
        seed: common.Seed = None,
    ) -> None:
        """Rolling-origin evaluation of the model and the baselines, with a summary table."""
        from rnnkit.training.forecast import backtest

        cfg = build_config(
            config,
            set_,
            ctx,
            **{
                **_series_overrides(data, target, time_col, group_col, freq, missing, horizon, season),
                "train.epochs": epochs,
                "train.seed": seed,
            },
        )
        run_dir = common.resolve_run_dir(out, None, "forecast-backtest")
        backtest(cfg, run_dir, folds=folds, step=step, refit=refit, log=_echo)
        typer.echo(f"wrote {run_dir}/backtest.json")
