"""Forecasting as plain functions: ``train_forecaster``, ``predict``, ``backtest``.

The CLI (``rnnkit forecast ...``) only parses arguments and calls these.

- ``train_forecaster(cfg, out)``: train on everything before the last ``test_size``
  (default ``horizon``) points, forecast them (in blocks of ``horizon`` from the true
  history when ``test_size > horizon``), compare with the baselines on the same split,
  and write ``metrics.json``, ``forecast.csv``, ``forecast.png``, ``model/`` and ``run/``.
- ``predict(model_dir, data, out_csv)``: ``horizon`` steps past the end of ``data``.
- ``backtest(cfg, out, folds, step, refit)``: rolling-origin evaluation. Origins
  o_k = N - H - (folds - 1 - k) * step; the model is trained once on the points
  before o_0 (or again at each origin with ``refit``) and forecasts H steps from each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.data.timeseries import read_series
from rnnkit.data.windowing import check_horizon
from rnnkit.errors import DataError, Interrupted
from rnnkit.tasks.forecast.baselines import run_baselines
from rnnkit.training.atomic import out_dir, out_file, write_json, writing
from rnnkit.training.config import to_dict
from rnnkit.training.device import torch_threads
from rnnkit.training.distributed import leave_unless_main
from rnnkit.tasks.forecast.config import ForecastConfig
from rnnkit.tasks.forecast.core import (
    ALL,
    _context,
    check_series,
    fit_model,
    forecast_from_history,
    load_forecaster,
    meta_of,
    resolve_data,
    save_forecaster,
)
from rnnkit.tasks.forecast.metrics import forecast_metrics
from rnnkit.tasks.forecast.report import (
    format_table,
    mean_metrics,
    plot_forecast,
    write_forecast_csv,
)

__all__ = ["backtest", "predict", "train_forecaster"]


def _forecast_origins(model, st, s, origins: list, end: int, meta: dict, baselines):
    """Model and baseline forecasts of series ``s`` from each origin, in blocks of H up to
    ``end``: (mean, lower, upper, {baseline: forecast}), each (end - origins[0], targets)."""
    H, season, first = meta["horizon"], meta["season"], origins[0]
    n_out = end - first
    mean, lower, upper = (np.full((n_out, len(s.targets)), np.nan) for _ in range(3))
    base: dict = {}
    for o in origins:
        k = min(H, end - o)
        _, mu, lo, hi = forecast_from_history(
            model, st, s.values[:o], s.covariates[:o], s.future[:o], s.time[:o], s.freq, meta,
            s.future[o : o + H],
        )
        sl = slice(o - first, o - first + k)
        mean[sl] = mu[:k]
        if lo is not None:
            lower[sl], upper[sl] = lo[:k], hi[:k]
        for c in range(len(s.targets)):
            for name, f in run_baselines(s.values[:o, c], H, season, baselines).items():
                base.setdefault(name, np.full((n_out, len(s.targets)), np.nan))[sl, c] = f[:k]
    return mean, lower, upper, base


def _evaluate(model, states, series, origins: dict, horizon_total: dict, meta, baselines):
    """Forecast each series from its origins; returns (rows, panels, model_metrics, baseline_metrics)."""
    H, season = meta["horizon"], meta["season"]
    rows, panels, model_m, base_m = [], [], [], {}
    for s in series:
        first, end = origins[s.name][0], origins[s.name][0] + horizon_total[s.name]
        mean, lower, upper, base = _forecast_origins(model, states[s.name], s, origins[s.name],
                                                     end, meta, baselines)
        has_band = meta.get("interval") is not None
        for c, target in enumerate(s.targets):
            hist, actual = s.values[:first, c], s.values[first:end, c]
            model_m.append(
                forecast_metrics(
                    actual,
                    mean[:, c],
                    hist,
                    season,
                    lower[:, c] if has_band else None,
                    upper[:, c] if has_band else None,
                )
            )
            for name, f in base.items():
                base_m.setdefault(name, []).append(forecast_metrics(actual, f[:, c], hist, season))
            row = {"time": s.time[first:end], "actual": actual, "forecast": mean[:, c]}
            if has_band:
                row.update(lower=lower[:, c], upper=upper[:, c])
            frame = pd.DataFrame(row)
            if len(s.targets) > 1:
                frame.insert(0, "target", target)
            if meta.get("group_col"):
                frame.insert(0, meta["group_col"], s.name)
            rows.append(frame)
            shown = max(4 * H, 3 * season)
            panels.append(
                {
                    "title": f"{s.name} / {target}",
                    "history_time": s.time[max(0, first - shown) : first],
                    "history": hist[-shown:],
                    "time": s.time[first:end],
                    "actual": actual,
                    "forecast": mean[:, c],
                    "lower": lower[:, c] if has_band else None,
                    "upper": upper[:, c] if has_band else None,
                }
            )
    baselines_out = {name: mean_metrics(ms) for name, ms in base_m.items()}
    return pd.concat(rows, ignore_index=True), panels, mean_metrics(model_m), baselines_out


def train_forecaster(cfg: ForecastConfig, out: Path, log: Callable[[str], None] = print,
                     resume: bool = False) -> dict:
    """Train, forecast the test part, compare with baselines; write the run folder. Returns metrics.

    ``resume``: continue the training in ``out`` (the run folder) from its last checkpoint."""
    start = time.perf_counter()
    out = Path(out)
    series, cfg = resolve_data(cfg)
    d = cfg.data
    test = d.test_size or d.horizon
    n_train = {}
    for s in series:
        check_horizon(d.horizon, len(s), d.data)
        if test >= len(s):
            raise DataError(f"{d.data}: --test-size {test} is longer than the data ({len(s)} points)")
        n_train[s.name] = len(s) - test
    check_series(series, n_train, cfg, d.data)
    out_dir(out)
    meta = meta_of(cfg, series)
    origins = {s.name: list(range(n_train[s.name], len(s), d.horizon)) for s in series}
    with torch_threads(cfg.train.threads):
        model, states, fit = fit_model(series, n_train, cfg, out, resume=resume)
        leave_unless_main()  # under torchrun, rank 0 alone evaluates and writes
        frame, panels, model_m, base_m = _evaluate(
            model, states, series, origins, {s.name: test for s in series}, meta, cfg.baselines
        )
    with writing("--out", out):
        save_forecaster(out / "model", model, states, meta, grouped=d.group_col is not None)
    s0 = series[0]
    metrics = {
        "model": model_m,
        "baselines": base_m,
        "horizon": d.horizon,
        "season": d.season,
        "test_start": str(s0.time[n_train[s0.name]]),
        "test_size": test,
        "interval": d.interval,
        "data": d.data,
        "targets": d.target,
        "series": [s.name for s in series],
        "epochs": fit.epochs_run,
        "seconds": round(time.perf_counter() - start, 2),
    }
    with writing("--out", out):  # each file atomic: a full disk leaves none half-written
        write_json(out / "metrics.json", metrics)
        write_forecast_csv(out / "forecast.csv", frame)
        plot_forecast(out / "forecast.png", panels, d.interval)
    log(
        format_table(
            metrics,
            f"{Path(d.data).name}: horizon {d.horizon}, season {d.season}, "
            f"test from {metrics['test_start']} ({fit.epochs_run} epochs, "
            f"{metrics['seconds']:.1f} s)",
        )
    )
    return metrics


def predict(
    model_dir: Path, data: Path, out_csv: Path | None = None, missing: str | None = None
) -> pd.DataFrame:
    """Forecast ``horizon`` steps past the end of ``data`` with a saved model."""
    if out_csv is not None:
        out_file(Path(out_csv))  # before any work: a folder or a file in the way is one line
    model, meta, states = load_forecaster(Path(model_dir))
    series = read_series(
        data,
        meta["targets"],
        meta["time_col"],
        freq=meta["freq"],
        missing=missing or meta["missing"],
        group_col=meta["group_col"],
        covariates=meta["past_covariates"],
        future_covariates=meta.get("future_covariates", []),
        with_ahead=True,
    )
    frames = []
    for s in series:
        key = s.name if meta["group_col"] else ALL
        if key not in states:
            raise DataError(
                f"{data}, column {meta['group_col']!r}: group {s.name!r} was not in the training data"
            )
        if s.future_names and len(s.ahead) < meta["horizon"]:
            raise DataError(
                f"{data}: --future-covariate {', '.join(s.future_names)} needs the "
                f"{meta['horizon']} rows after the history (targets empty), found {len(s.ahead)}"
            )
        need = model.context + states[key].transform.diff
        if len(s) < need:
            raise DataError(
                f"{data}: the model needs at least {need} points of history, got {len(s)}"
            )
        with torch_threads(1):
            times, mean, lower, upper = forecast_from_history(
                model, states[key], s.values, s.covariates, s.future, s.time, s.freq, meta, s.ahead
            )
        for c, target in enumerate(s.targets):
            row = {"time": times, "forecast": mean[:, c]}
            if lower is not None:
                row.update(lower=lower[:, c], upper=upper[:, c])
            frame = pd.DataFrame(row)
            if len(s.targets) > 1:
                frame.insert(0, "target", target)
            if meta["group_col"]:
                frame.insert(0, meta["group_col"], s.name)
            frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    if out_csv is not None:
        with writing("--out", out_csv):
            write_forecast_csv(Path(out_csv), result)
    return result


def _backtest_folds(
    cfg: ForecastConfig, series, origins: dict, folds: int, refit: bool, out: Path, resume: bool
) -> list:
    H = cfg.data.horizon
    meta = meta_of(cfg, series)
    results, model, states = [], None, None
    for k in range(folds):
        if refit or model is None:
            n_train = {name: o[k] for name, o in origins.items()}
            fold_dir = out / f"run_fold{k}"
            # --resume: a fold with a checkpoint continues from it (a finished one just reloads);
            # a fold that never started trains from scratch
            again = resume and (fold_dir / "checkpoints" / "last").is_dir()
            model, states, _ = fit_model(series, n_train, cfg, fold_dir, resume=again)
        fold_origins = {name: [o[k]] for name, o in origins.items()}
        _, _, model_m, base_m = _evaluate(
            model, states, series, fold_origins, {s.name: H for s in series}, meta, cfg.baselines
        )
        origin = str(series[0].time[origins[series[0].name][k]])
        results.append({"fold": k, "origin": origin, "model": model_m, "baselines": base_m})
    return results


def _check_folds(series, cfg: ForecastConfig, folds: int, step: int) -> None:
    """The first origin must leave the window + H training points check_series asks for."""
    _, context = _context(cfg)
    d = cfg.data
    for s in series:
        fit = (len(s) - 2 * d.horizon - d.diff - context) // step + 1  # folds that fit
        if 1 <= fit < folds:
            where = d.data if len(series) == 1 else f"{d.data}, group {s.name!r}"
            raise DataError(
                f"{where}: --folds {folds} with --step {step} needs more history; at most {fit} folds fit "
                f"({len(s)} points, input window {context}, horizon {d.horizon})"
            )


def _fold_table(results: list, baselines: list[str]) -> str:
    """One line per fold: its origin, the model's MASE and each baseline's."""
    lines = [
        f"{'fold':<5} {'origin':<20} {'model MASE':>10} "
        + " ".join(f"{n + ' MASE':>20}" for n in baselines)
    ]
    for r in results:
        vals = [r["model"]["mase"]] + [r["baselines"][n]["mase"] for n in baselines]
        lines.append(
            f"{r['fold']:<5} {r['origin']:<20} "
            + " ".join(
                f"{'-' if v is None else f'{v:.3f}':>{10 if i == 0 else 20}}"
                for i, v in enumerate(vals)
            )
        )
    return "\n".join(lines)


def backtest(
    cfg: ForecastConfig,
    out: Path,
    folds: int = 3,
    step: int | None = None,
    refit: bool = False,
    log: Callable[[str], None] = print,
    resume: bool = False,
) -> dict:
    """Rolling-origin evaluation; writes config.json and backtest.json and prints a per-fold
    summary table. ``resume``: continue an interrupted backtest in ``out`` (run the same command
    with ``--resume``): each fold's training goes on from its last checkpoint."""
    if folds < 1:
        raise DataError(f"--folds must be >= 1, got {folds}")
    if step is not None and step < 1:
        raise DataError(f"--step must be >= 1, got {step}")
    out = Path(out)
    series, cfg = resolve_data(cfg)
    H = cfg.data.horizon
    step = step or H
    _check_folds(series, cfg, folds, step)
    origins = {s.name: [len(s) - H - (folds - 1 - k) * step for k in range(folds)] for s in series}
    first = {name: o[0] for name, o in origins.items()}
    check_series(series, first, cfg, cfg.data.data)
    out_dir(out)
    with writing("--out", out):
        write_json(out / "config.json", to_dict(cfg))  # what `--resume out` starts from
    try:
        with torch_threads(cfg.train.threads):
            results = _backtest_folds(cfg, series, origins, folds, refit, out, resume)
    except Interrupted:  # the fold's trainer names its own folder; the backtest resumes from out
        kept = any(out.glob("run_fold*/checkpoints/last"))
        raise Interrupted(
            f"interrupted; each fold's last good checkpoint is kept under {out}; run the same "
            f"command with --resume {out} to continue" if kept
            else "interrupted before any checkpoint was written; nothing to resume"
        ) from None
    summary = {
        "model": mean_metrics([r["model"] for r in results]),
        "baselines": {
            n: mean_metrics([r["baselines"][n] for r in results]) for n in results[0]["baselines"]
        },
    }
    report = {
        "folds": results,
        "mean": summary,
        "horizon": H,
        "season": cfg.data.season,
        "step": step,
        "refit": refit,
    }
    with writing("--out", out):
        write_json(out / "backtest.json", report)
    log(_fold_table(results, list(summary["baselines"])))
    log(format_table(summary, f"mean over {folds} folds (horizon {H}, step {step}, refit {refit})"))
    return report
