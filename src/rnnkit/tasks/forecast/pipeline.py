"""Forecasting from CSV as plain functions over `Forecaster`: ``train_forecaster``, ``predict``, ``backtest``.

The CLI (``rnnkit forecast ...``) only parses arguments and calls these; each one reads the
CSV with ``rnnkit.data.timeseries`` (one line per mistake), turns it into a long frame
(``rnnkit.tasks.forecast.frames``) and hands it to one global
:class:`~rnnkit.tasks.forecast.estimator.Forecaster`.

- ``train_forecaster(cfg, out)``: fit on everything before the last ``test_size`` (default
  ``horizon``) points of every series, forecast them (in blocks of ``horizon`` from the
  true history when ``test_size > horizon``), compare with the baselines on the same
  split, and write ``config.json``, ``metrics.json``, ``forecast.csv``, ``forecast.png``
  and ``model/`` (the saved Forecaster and ``run.json``, what predict needs to read a CSV).
- ``predict(model_dir, data, out_csv)``: ``horizon`` steps past the end of ``data`` (a CSV
  or a bundled series name), for every series in it, also ones the model never saw.
- ``backtest(cfg, out, folds, step, refit)``: ``Forecaster.cross_validation`` at
  ``folds`` rolling origins (fold k's test window ends (folds - 1 - k)·step points
  before the end), with the baselines on each fold's history; writes ``backtest.json``,
  ``backtest.csv`` (every fold's forecasts) and ``backtest.png``.

A fresh run into a folder that holds an earlier one stops with one line unless
``overwrite``; then, after its last write, it removes the earlier run's files it did not
rewrite (:mod:`rnnkit.tasks.forecast.outputs`); other files in the folder are kept.

``resume``: a run's fitted Forecaster is saved before its evaluation, and a backtest's
under ``run_fold<k>/model``; resuming reuses those and fits only what is missing (the
Forecaster's training itself is not checkpointed: a fit interrupted midway starts again,
with the same seed, so the result is the same).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.data.frequency import next_times
from rnnkit.data.timeseries import read_series
from rnnkit.errors import CheckpointError, ConfigError, DataError, Interrupted
from rnnkit.tasks.forecast.baselines import baseline_forecasts, missing_line
from rnnkit.tasks.forecast.config import ForecastConfig
from rnnkit.tasks.forecast.cross_validation import cross_validation
from rnnkit.tasks.forecast.estimator import Forecaster
from rnnkit.tasks.forecast.frames import Part, bundled_or_file, parts_of, resolve_data, to_long
from rnnkit.tasks.forecast.metrics import forecast_metrics
from rnnkit.tasks.forecast.outputs import BACKTEST_FILES, TRAIN_FILES, prepare_out, remove_stale
from rnnkit.tasks.forecast.report import format_table, mean_metrics, plot_forecast, write_forecast_csv
from rnnkit.training.atomic import out_dir, out_file, write_json, writing
from rnnkit.training.config import to_dict
from rnnkit.training.device import torch_threads
from rnnkit.training.distributed import is_main, launched, leave_unless_main
from rnnkit.training.jsonio import read_json_object

__all__ = ["backtest", "predict", "train_forecaster"]

RUN_FILE = "run.json"  # beside the saved Forecaster: how to read a CSV for it


def _covariates(cfg: ForecastConfig) -> dict:
    d = cfg.data
    out = {"static": list(d.static_covariates), "past": list(d.past_covariates),
           "future": list(d.future_covariates)}
    return {k: v for k, v in out.items() if v}


def _fit(cfg: ForecastConfig, train: pd.DataFrame) -> Forecaster:
    d = cfg.data
    return Forecaster(d.horizon, d.season, **cfg.forecaster_options()).fit(train, **_covariates(cfg))


def _future_rows(parts: list[Part], ends: dict, horizon: int) -> pd.DataFrame | None:
    """The known-future covariates of the H steps after each part's end (None without any)."""
    names = parts[0].series.future_names
    if not names:
        return None
    frames = []
    for p in parts:
        e = ends[p.key]
        fut = p.series.future[e:e + horizon]
        if len(fut) < horizon:  # the last test block runs past the data: repeat the last row
            fut = np.concatenate([fut, np.repeat(p.series.future[-1:], horizon - len(fut), axis=0)])
        frames.append(pd.DataFrame({"unique_id": p.key, "ds": e + np.arange(horizon),
                                    **{n: fut[:, j] for j, n in enumerate(names)}}))
    return pd.concat(frames, ignore_index=True)


def _predict(f: Forecaster, parts: list[Part], ends: dict, level) -> dict:
    """{key: (H, 1 + 2·levels) array: forecast, then lo, hi} from each part's first ends[key] points."""
    live = [p for p in parts if p.key in ends]
    kw = {} if (fd := _future_rows(live, ends, f.horizon)) is None else {"future_df": fd}
    fc = f.predict(to_long(live, ends), level=level, **kw)
    cols = ["forecast"] + [c for lv in level for c in (f"lo-{lv}", f"hi-{lv}")]
    return {k: g[cols].to_numpy(float) for k, g in fc.groupby("unique_id", sort=False)}


def _panel(p: Part, first: int, end: int, fc: np.ndarray, H: int, season: int, title: str) -> dict:
    s, shown = p.series, max(4 * H, 3 * season)
    return {"title": title, "history_time": s.time[max(0, first - shown):first],
            "history": p.values[max(0, first - shown):first], "time": s.time[first:end],
            "actual": p.values[first:end], "forecast": fc[:, 0],
            "lower": fc[:, 1] if fc.shape[1] > 1 else None, "upper": fc[:, 2] if fc.shape[1] > 1 else None}


def _rows(p: Part, first: int, end: int, fc: np.ndarray, cfg: ForecastConfig, extra: dict | None = None):
    """forecast.csv rows of one part: [group], [target], (extra), time, actual, forecast, lower, upper."""
    row = {"time": p.series.time[first:end], "actual": p.values[first:end], "forecast": fc[:, 0]}
    if fc.shape[1] > 1:
        row.update(lower=fc[:, 1], upper=fc[:, 2])
    frame = pd.DataFrame(row)
    for name, value in reversed(list((extra or {}).items())):
        frame.insert(0, name, value)
    if len(cfg.data.target) > 1:
        frame.insert(0, "target", p.target)
    if cfg.data.group_col:
        frame.insert(0, cfg.data.group_col, p.series.name)
    return frame


def _check_lengths(series, test: int, cfg: ForecastConfig) -> list:
    """The series long enough to hold out ``test`` points and train on one more than H.

    One series too short: a one-line error. In a panel, too-short groups are left out
    with one warning (a global model still forecasts them with ``predict``); all too short:
    the error for the longest."""
    d = cfg.data
    need = max(test, d.horizon) + 1
    ok = [s for s in series if len(s) >= need]
    if not ok or len(series) == 1:
        s = max(series, key=len)
        if len(s) < need:
            where = d.data if len(series) == 1 else f"{d.data}, group {s.name!r} (the longest)"
            what = f"--horizon {d.horizon}" if d.horizon >= test else f"--test-size {test}"
            raise DataError(f"{where}: {what} is longer than the data ({len(s)} points)")
    short = [s for s in series if len(s) < need]
    if short:
        warnings.warn(f"{len(short)} groups have fewer than {need} points (first: {short[0].name!r} with "
                      f"{len(short[0])}); left out of this run: too short to hold out {test} points and train "
                      "(rnnkit forecast predict still forecasts them)", stacklevel=2)
    return ok


def _fit_or_load(cfg: ForecastConfig, train: pd.DataFrame, model_dir: Path, resume: bool, meta: dict) -> Forecaster:
    """The fitted Forecaster: reloaded from ``model_dir`` when resuming a run that saved it."""
    if resume and (model_dir / RUN_FILE).is_file() and (model_dir / "forecaster.json").is_file():
        if read_json_object(model_dir / RUN_FILE).get("config") == meta["config"]:  # same run, not an older one
            return Forecaster.load(model_dir)
    f = _fit(cfg, train)
    leave_unless_main()  # under torchrun, rank 0 alone evaluates and writes (parallel.py)
    with writing("--out", model_dir):
        f.save(model_dir)
        write_json(model_dir / RUN_FILE, meta)
    return f


def _meta(cfg: ForecastConfig, series) -> dict:
    d, freq = cfg.data, series[0].freq
    return {"targets": list(d.target), "time_col": d.time_col, "group_col": d.group_col,
            "static_covariates": list(d.static_covariates), "past_covariates": list(d.past_covariates),
            "future_covariates": list(d.future_covariates),
            "freq": freq if isinstance(freq, (int, np.integer)) else str(freq),
            "season": d.season, "horizon": d.horizon, "interval": d.interval, "missing": d.missing,
            "config": to_dict(cfg)}


def train_forecaster(cfg: ForecastConfig, out: Path, log: Callable[[str], None] = print,
                     resume: bool = False, overwrite: bool = False) -> dict:
    """Fit, forecast the test part, compare with baselines; write the run folder. Returns metrics."""
    start = time.perf_counter()
    out = Path(out)
    series, cfg = resolve_data(cfg)
    d = cfg.data
    H, season, test = d.horizon, d.season, d.test_size or d.horizon
    series = _check_lengths(series, test, cfg)
    parts = parts_of(series)
    n_train = {p.key: len(p.values) - test for p in parts}
    old = []
    if is_main():  # under torchrun rank 0 alone checks the folder, as it alone writes
        old = prepare_out(out, d.data, resume=resume, overwrite=overwrite, writes=TRAIN_FILES)
    else:
        out_dir(out)
    if is_main():
        with writing("--out", out):
            write_json(out / "config.json", to_dict(cfg))  # what `--resume out` starts from
    level = () if d.interval is None else (_level(d.interval),)
    with torch_threads(cfg.train.threads):
        f = _fit_or_load(cfg, to_long(parts, n_train), out / "model", resume, _meta(cfg, series))
        fcs = {p.key: [] for p in parts}
        base: dict = {}
        for b in range(-(-test // H)):  # blocks of H from the true history
            ends = {k: n + b * H for k, n in n_train.items()}
            for k, a in _predict(f, parts, ends, level).items():
                fcs[k].append(a)
            hist = {p.key: p.values[:ends[p.key]] for p in parts}
            block, missing = baseline_forecasts(hist, H, season, cfg.baselines)
            for name, per in block.items():
                for k, a in per.items():
                    base.setdefault(name, {}).setdefault(k, []).append(a)
    rows, panels, model_m, base_m = [], [], [], {}
    for p in parts:
        first, end = n_train[p.key], len(p.values)
        fc = np.concatenate(fcs[p.key])[: end - first]  # (test, 1 + 2·levels)
        hist, actual = p.values[:first], p.values[first:end]
        band = (fc[:, 1], fc[:, 2]) if level else (None, None)
        model_m.append(forecast_metrics(actual, fc[:, 0], hist, season, *band))
        for name, per in base.items():
            base_m.setdefault(name, []).append(
                forecast_metrics(actual, np.concatenate(per[p.key])[: end - first], hist, season))
        rows.append(_rows(p, first, end, fc, cfg))
        panels.append(_panel(p, first, end, fc, H, season, f"{p.series.name} / {p.target}"))
    s0 = series[0]
    metrics = {
        "model": mean_metrics(model_m), "baselines": {n: mean_metrics(m) for n, m in base_m.items()},
        "missing_baselines": missing, "horizon": H, "season": season,
        "test_start": str(s0.time[len(s0) - test]), "test_size": test, "interval": d.interval,
        "data": d.data, "targets": d.target, "series": [s.name for s in series], "steps": f.steps_,
        "seconds": round(time.perf_counter() - start, 2),
    }
    with writing("--out", out):  # each file atomic: a full disk leaves none half-written
        write_json(out / "metrics.json", metrics)
        write_forecast_csv(out / "forecast.csv", pd.concat(rows, ignore_index=True))
        plot_forecast(out / "forecast.png", panels, d.interval)
    remove_stale(out, old, TRAIN_FILES + ("model",))
    title = (f"{Path(d.data).name}: horizon {H}, season {season}, test from {metrics['test_start']} "
             f"({f.steps_} steps x {len(f.members_)} members, {metrics['seconds']:.1f} s)")
    log(format_table(metrics, title))
    if missing:
        log(missing_line(missing))
    return metrics


def _load(model_dir: Path) -> tuple[Forecaster, dict]:
    d = Path(model_dir)
    if not (d / RUN_FILE).is_file() and (d / "model" / RUN_FILE).is_file():
        d = d / "model"  # accept the run folder too
    if not (d / RUN_FILE).is_file():
        raise CheckpointError(f"--model {str(d)!r}: {RUN_FILE} is missing; pass the DIR/model of a forecast run")
    meta = read_json_object(d / RUN_FILE)  # first: one line for a damaged file, before the weights
    return Forecaster.load(d), meta


def predict(model_dir: Path, data, out_csv: Path | None = None, missing: str | None = None) -> pd.DataFrame:
    """Forecast ``horizon`` steps past the end of every series in ``data`` with a saved model."""
    if out_csv is not None:
        out_file(Path(out_csv))  # before any work: a folder or a file in the way is one line
    f, meta = _load(Path(model_dir))
    path, _ = bundled_or_file(str(data))
    H = meta["horizon"]
    series = read_series(path, meta["targets"], meta["time_col"], freq=meta["freq"],
                         missing=missing or meta["missing"], group_col=meta["group_col"],
                         covariates=[*meta["static_covariates"], *meta["past_covariates"]],
                         future_covariates=meta["future_covariates"], with_ahead=True)
    for s in series:
        if s.future_names and len(s.ahead) < H:
            raise DataError(f"{path}: --future-covariate {', '.join(s.future_names)} needs the {H} rows "
                            f"after the history (targets empty), found {len(s.ahead)}")
    parts = parts_of(series)
    ends = {p.key: len(p.values) for p in parts}
    level = () if meta["interval"] is None else (_level(meta["interval"]),)
    live = parts
    kw = {}
    if series[0].future_names:
        kw["future_df"] = pd.concat([
            pd.DataFrame({"unique_id": p.key, "ds": ends[p.key] + np.arange(H),
                          **{n: p.series.ahead[:H, j] for j, n in enumerate(p.series.future_names)}})
            for p in live], ignore_index=True)
    with torch_threads(1):
        fc = f.predict(to_long(live), level=level, **kw)
    by_key = {k: g for k, g in fc.groupby("unique_id", sort=False)}
    frames = []
    for p in live:
        g = by_key[p.key]
        row = {"time": next_times(p.series.time, p.series.freq, H), "forecast": g["forecast"].to_numpy()}
        if level:
            row.update(lower=g[f"lo-{level[0]}"].to_numpy(), upper=g[f"hi-{level[0]}"].to_numpy())
        frame = pd.DataFrame(row)
        if len(meta["targets"]) > 1:
            frame.insert(0, "target", p.target)
        if meta["group_col"]:
            frame.insert(0, meta["group_col"], p.series.name)
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    if out_csv is not None:
        with writing("--out", out_csv):
            write_forecast_csv(Path(out_csv), result)
    return result


def _level(interval: float):
    lv = round(interval * 100, 6)
    return int(lv) if lv == int(lv) else lv


def _check_folds(series, cfg: ForecastConfig, folds: int, step: int) -> None:
    """The first fold must leave H + 1 training points in the longest series (one training window)."""
    H = cfg.data.horizon
    longest = max(series, key=len)
    fit = (len(longest) - 2 * H - 1) // step + 1  # folds that fit
    if fit < folds:
        where = cfg.data.data if len(series) == 1 else f"{cfg.data.data}, group {longest.name!r}"
        raise DataError(
            f"{where}: --folds {folds} with --step {step} needs more history; at most {max(fit, 0)} folds fit "
            f"({len(longest)} points, horizon {H}: the first fold trains on at least {H + 1} points)")


def _fold_table(results: list, baselines: list[str]) -> str:
    """One line per fold: its origin, the model's MASE and each baseline's."""
    lines = [f"{'fold':<5} {'origin':<20} {'model MASE':>10} " + " ".join(f"{n + ' MASE':>20}" for n in baselines)]
    for r in results:
        vals = [r["model"]["mase"]] + [r["baselines"][n]["mase"] for n in baselines]
        lines.append(f"{r['fold']:<5} {r['origin']:<20} " + " ".join(
            f"{'-' if v is None else f'{v:.3f}':>{10 if i == 0 else 20}}" for i, v in enumerate(vals)))
    return "\n".join(lines)


def backtest(cfg: ForecastConfig, out: Path, folds: int = 3, step: int | None = None, refit: bool = False,
             log: Callable[[str], None] = print, resume: bool = False, overwrite: bool = False) -> dict:
    """Rolling-origin evaluation through ``Forecaster.cross_validation``; see the module doc."""
    if launched():
        raise ConfigError("forecast backtest runs in one process; train data-parallel with "
                          "torchrun ... -m rnnkit forecast train")
    if folds < 1:
        raise DataError(f"--folds must be >= 1, got {folds}")
    if step is not None and step < 1:
        raise DataError(f"--step must be >= 1, got {step}")
    out = Path(out)
    series, cfg = resolve_data(cfg)
    d = cfg.data
    H, season = d.horizon, d.season
    step = step or H
    series = _check_lengths(series, H, cfg)
    _check_folds(series, cfg, folds, step)
    parts = parts_of(series)
    old = prepare_out(out, d.data, resume=resume, overwrite=overwrite, writes=BACKTEST_FILES)
    with writing("--out", out):
        write_json(out / "config.json", to_dict(cfg))  # what `--resume out` starts from
    level = () if d.interval is None else (_level(d.interval),)
    meta = _meta(cfg, series)

    written = list(BACKTEST_FILES)

    def fit_fold(k: int, train: pd.DataFrame) -> Forecaster:
        written.append(f"run_fold{k}")
        return _fit_or_load(cfg, train, out / f"run_fold{k}" / "model", resume, meta)

    proto = Forecaster(H, season, **cfg.forecaster_options())
    try:
        with torch_threads(cfg.train.threads):
            cv = cross_validation(proto, to_long(parts), folds, step, refit, level, fit_fold=fit_fold,
                                  **_covariates(cfg))
    except KeyboardInterrupt:
        kept = sorted(p.parent.name for p in out.glob("run_fold*/model"))
        raise Interrupted(
            f"interrupted; the fitted folds are kept under {out} ({', '.join(kept)}); run the same command "
            f"with --resume {out} to continue" if kept else "interrupted before any fold was fitted; nothing to resume"
        ) from None
    by_part = {p.key: p for p in parts}
    cv["fold"] = [folds - 1 - (len(by_part[k].values) - H - 1 - c) // step for k, c in zip(cv["unique_id"], cv["cutoff"])]
    results, rows, panels = [], [], []
    for k in range(folds):
        fold = cv[cv["fold"] == k]
        hist, spans = {}, {}
        for key, g in fold.groupby("unique_id", sort=False):
            first = int(g["cutoff"].iloc[0]) + 1
            spans[key] = (first, first + len(g), g)
            hist[key] = by_part[key].values[:first]
        base, missing = baseline_forecasts(hist, H, season, cfg.baselines)
        model_m, base_m = [], {}
        for key, (first, end, g) in spans.items():
            p = by_part[key]
            cols = ["forecast"] + [c for lv in level for c in (f"lo-{lv}", f"hi-{lv}")]
            fc = g[cols].to_numpy(float)
            band = (fc[:, 1], fc[:, 2]) if level else (None, None)
            model_m.append(forecast_metrics(p.values[first:end], fc[:, 0], hist[key], season, *band))
            for name, per in base.items():
                base_m.setdefault(name, []).append(
                    forecast_metrics(p.values[first:end], per[key][: end - first], hist[key], season))
            rows.append(_rows(p, first, end, fc, cfg, {"fold": k, "cutoff": p.series.time[first - 1]}))
            panels.append(_panel(p, first, end, fc, H, season, f"{p.series.name} / {p.target} / fold {k}"))
        p0 = parts[0]
        origin = str(p0.series.time[spans[p0.key][0]]) if p0.key in spans else "-"
        results.append({"fold": k, "origin": origin, "model": mean_metrics(model_m),
                        "baselines": {n: mean_metrics(m) for n, m in base_m.items()}})
    names = list(results[0]["baselines"])
    summary = {"model": mean_metrics([r["model"] for r in results]),
               "baselines": {n: mean_metrics([r["baselines"][n] for r in results]) for n in names}}
    report = {"folds": results, "mean": summary, "horizon": H, "season": season, "step": step, "refit": refit,
              "missing_baselines": missing}
    with writing("--out", out):
        write_json(out / "backtest.json", report)
        write_forecast_csv(out / "backtest.csv", pd.concat(rows, ignore_index=True))
        plot_forecast(out / "backtest.png", panels[-4:], d.interval)
    remove_stale(out, old, tuple(written))
    log(_fold_table(results, names))
    log(format_table(summary, f"mean over {folds} folds (horizon {H}, step {step}, refit {refit})"))
    if missing:
        log(missing_line(missing))
    return report
