"""The forecasting pipeline's pieces, used by rnnkit.tasks.forecast.pipeline.

Pipeline for each series (group) of the CSV, with n_train points before the test part:

1. ``SeriesTransform`` (log / difference / scale) fitted on the first n_train points;
   past covariates standardised with their own training mean and std.
2. Sliding windows of ``context = window + season`` steps and ``horizon`` targets, from
   the training part only; calendar features of the target steps as known-future inputs.
3. One global :class:`~rnnkit.models.forecaster.RNNForecaster` over all series' windows,
   trained by :class:`~rnnkit.training.Trainer`.
4. Forecast from each origin: mu, sigma in transformed units -> the central ``interval``
   band mu -+ q sigma -> inverse transform (exact for monotone transforms).

``forecast_from_history`` is the single forecasting path, shared by train (on the test
part) and predict (past the end of the data), which is why predict reproduces train.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd
import torch

from rnnkit.data.calendar import calendar_features
from rnnkit.data.timeseries import Series, next_times, read_series
from rnnkit.data.transforms import SeriesTransform
from rnnkit.data.windowing import check_horizon, check_lengths, make_windows
from rnnkit.datasets import DEFAULT_FORECAST_SERIES, forecast_series
from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.models.forecaster import RNNForecaster
from rnnkit.models.registry import build_model, tagged
from rnnkit.training.checkpoint import load_model, save_model
from rnnkit.training.jsonio import read_json_object
from rnnkit.tasks.forecast.config import ForecastConfig
from rnnkit.training.trainer import Trainer

__all__ = [
    "STATE_FILE",
    "SeriesState",
    "check_series",
    "fit_model",
    "forecast_from_history",
    "infer_season",
    "load_forecaster",
    "meta_of",
    "resolve_data",
    "save_forecaster",
]

STATE_FILE = "forecast.json"
ALL = "__all__"  # state key of the single series when there is no group column


def infer_season(freq) -> int:
    """Seasonal period from a frequency: 12 monthly, 4 quarterly, 52 weekly, 7 daily, 24 hourly."""
    if isinstance(freq, (int, np.integer)):
        return 1
    name = pd.tseries.frequencies.to_offset(freq).rule_code.upper()
    for prefix, m in (("MIN", 60), ("M", 12), ("Q", 4), ("W", 52), ("D", 7), ("B", 5), ("H", 24)):
        if name.startswith(prefix):
            return m
    return 1


def resolve_data(cfg: ForecastConfig) -> tuple[list[Series], ForecastConfig]:
    """Read the CSV (or bundled series) of ``cfg.data``; fill in bundled defaults."""
    d = cfg.data
    name = d.data or DEFAULT_FORECAST_SERIES
    if not Path(name).exists() and "/" not in name and not name.endswith(".csv"):
        path, info = forecast_series(name)
        d = replace(
            d,
            data=str(path),
            target=d.target or [info.target],
            time_col=d.time_col or info.time_col,
            horizon=d.horizon or info.horizon,
            season=d.season or info.season,
            missing=info.missing if d.missing == "auto" else d.missing,
        )
    elif d.horizon is None:
        raise ConfigError("--horizon is required with --data FILE")
    else:
        d = replace(d, missing="error" if d.missing == "auto" else d.missing)
    series = read_series(
        d.data,
        d.target or None,
        d.time_col,
        freq=d.freq,
        missing=d.missing,
        group_col=d.group_col,
        covariates=d.past_covariates,
        future_covariates=d.future_covariates,
    )
    d = replace(d, target=list(series[0].targets), season=d.season or infer_season(series[0].freq))
    return series, replace(cfg, data=d)


# ----------------------------------------------------------------------- features
def _stats(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and std (std 1 where constant) of a (N, K) array; K may be 0."""
    if a.shape[1] == 0:
        return np.zeros(0), np.ones(0)
    std = a.std(axis=0)
    return a.mean(axis=0), np.where(std > 1e-12, std, 1.0)


@dataclass
class SeriesState:
    """What a forecast from one series needs besides the weights (saved in forecast.json)."""

    transform: SeriesTransform
    cov_mean: np.ndarray  # (K,) past covariates
    cov_std: np.ndarray  # (K,)
    fut_mean: np.ndarray  # (J,) known-future covariates
    fut_std: np.ndarray  # (J,)

    def to_dict(self) -> dict:
        out = {"transform": self.transform.to_dict()}
        for key in ("cov_mean", "cov_std", "fut_mean", "fut_std"):
            out[key] = getattr(self, key).tolist()
        return out

    @classmethod
    def from_dict(cls, d: dict) -> SeriesState:
        arrays = [np.asarray(d[k], float) for k in ("cov_mean", "cov_std", "fut_mean", "fut_std")]
        return cls(SeriesTransform.from_dict(d["transform"]), *arrays)


def fit_state(s: Series, n_train: int, cfg: ForecastConfig) -> SeriesState:
    where = f"series {s.name!r}"
    tf = SeriesTransform.fit(s.values[:n_train], cfg.data.log, cfg.data.diff, where=where)
    return SeriesState(tf, *_stats(s.covariates[:n_train]), *_stats(s.future[:n_train]))


def _known(state: SeriesState, times, reference, fut, calendar: bool) -> np.ndarray:
    """Known-future inputs (N, F): calendar features, then scaled future covariates."""
    cal = calendar_features(times, reference=reference) if calendar else np.zeros((len(times), 0))
    if not len(state.fut_mean):
        return cal
    return np.concatenate([cal, (fut - state.fut_mean) / state.fut_std], axis=1)


def features(state: SeriesState, values, cov, fut, times, calendar: bool):
    """past (N - d, C + K), known (N - d, F) for the history ``values`` (N, C)."""
    d = state.transform.diff
    z = state.transform.transform(values)  # (N - d, C)
    c = (cov[d:] - state.cov_mean) / state.cov_std  # (N - d, K)
    known = _known(state, times[d:], times, fut[d:], calendar)  # (N - d, F)
    return np.concatenate([z, c], axis=1), known


def forecast_from_history(model, state: SeriesState, values, cov, fut, times, freq, meta, ahead):
    """Forecast ``meta['horizon']`` steps after the history: (times, mean, lower, upper), each (H, C).

    ``ahead`` (k, J) holds the known-future covariates of the next steps; fewer than H rows
    are padded with the last one (only train's last test block, past the data, needs it).
    """
    horizon, context = meta["horizon"], model.context
    past, _ = features(state, values, cov, fut, times, meta["calendar"])
    future = next_times(times, freq, horizon)
    if ahead.shape[1] and len(ahead) < horizon:
        ahead = np.concatenate([ahead, np.repeat(ahead[-1:], horizon - len(ahead), axis=0)])
    known = _known(state, future, times, ahead[:horizon], meta["calendar"])  # (H, F)
    x = torch.as_tensor(past[-context:][None], dtype=torch.float32)  # (1, context, C+K)
    k = torch.as_tensor(known[None], dtype=torch.float32)  # (1, H, F)
    model.eval()
    with torch.no_grad():
        mu, sigma = model(x, k)  # (1, H, C)
    mu, sigma = mu[0].double().numpy(), sigma[0].double().numpy()
    mean = state.transform.inverse(mu, values)
    if meta.get("interval") is None:
        return future, mean, None, None
    q = NormalDist().inv_cdf((1 + meta["interval"]) / 2)
    lower = state.transform.inverse(mu - q * sigma, values)
    upper = state.transform.inverse(mu + q * sigma, values)
    return future, mean, lower, upper


# ------------------------------------------------------------------------ training
def _context(cfg: ForecastConfig) -> tuple[int, int]:
    d = cfg.data
    window = d.window or max(2 * d.horizon, d.season, 8)
    return window, window + d.season


def check_series(series: list[Series], n_train: dict, cfg: ForecastConfig, path: str) -> None:
    """Horizon / window longer than the data -> one-line DataError naming the file."""
    _, context = _context(cfg)
    for s in series:
        where = path if len(series) == 1 else f"{path}, group {s.name!r}"
        check_horizon(cfg.data.horizon, len(s), where)
        check_lengths(n_train[s.name] - cfg.data.diff, context, cfg.data.horizon, where)


def fit_model(series: list[Series], n_train: dict, cfg: ForecastConfig, run_dir: Path | None,
              resume: bool = False):
    """Train one global model on the training parts; returns (model, {name: state}, fit result).

    ``resume``: continue from ``run_dir``'s last checkpoint (the trainer's exact resume)."""
    d, mc = cfg.data, cfg.model
    window, context = _context(cfg)
    states, xs, ks, ys = {}, [], [], []
    for s in series:
        n = n_train[s.name]
        state = fit_state(s, n, cfg)
        states[s.name] = state
        past, known = features(
            state, s.values[:n], s.covariates[:n], s.future[:n], s.time[:n], d.calendar
        )
        x, k, y = make_windows(past, past[:, : len(s.targets)], context, d.horizon, known)
        xs.append(x), ks.append(k), ys.append(y)
    x, k, y = (torch.from_numpy(np.concatenate(a)) for a in (xs, ks, ys))  # (W, context, C+K) ...
    torch.manual_seed(cfg.train.seed)
    model = RNNForecaster(
        n_targets=len(series[0].targets),
        n_past=len(d.past_covariates),
        n_known=k.shape[-1],
        input_len=window,
        horizon=d.horizon,
        season=d.season,
        hidden_size=mc.hidden_size,
        num_layers=mc.num_layers,
        cell=mc.cell,
        strategy=mc.strategy,
        residual=mc.residual,
        dropout=mc.dropout,
        members=mc.members,
    )
    batches = -(-len(x) // cfg.train.batch_size)
    max_steps = cfg.train.max_steps
    epochs = cfg.train.epochs if max_steps is None else max(1, min(cfg.train.epochs, max_steps // batches))
    train_cfg = replace(cfg.train, epochs=epochs)
    gen = torch.Generator().manual_seed(cfg.train.seed)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, k, y),
        batch_size=cfg.train.batch_size,
        shuffle=True,
        generator=gen,
    )
    from rnnkit.training.config import to_dict

    trainer = Trainer(
        model, train_cfg, run_dir=run_dir, run_config=to_dict(replace(cfg, train=train_cfg))
    )
    result = trainer.fit(loader, resume=resume)
    return model.cpu().eval(), states, result


# ---------------------------------------------------------------------- save / load
def meta_of(cfg: ForecastConfig, series: list[Series]) -> dict:
    d = cfg.data
    freq = series[0].freq
    return {
        "targets": list(series[0].targets),
        "time_col": d.time_col,
        "group_col": d.group_col,
        "past_covariates": list(d.past_covariates),
        "future_covariates": list(d.future_covariates),
        "freq": freq if isinstance(freq, int) else str(freq),
        "season": d.season,
        "horizon": d.horizon,
        "interval": d.interval,
        "calendar": d.calendar,
        "missing": d.missing,
    }


def save_forecaster(
    dir: Path, model: RNNForecaster, states: dict, meta: dict, grouped: bool
) -> None:
    keyed = {name if grouped else ALL: st.to_dict() for name, st in states.items()}
    state = json.dumps({"meta": meta, "series": keyed}, indent=2) + "\n"
    save_model(dir, model, tagged("forecast", model.model_config),
               extra={STATE_FILE: state.encode("utf-8")})  # one atomic folder


def load_forecaster(dir: Path) -> tuple[RNNForecaster, dict, dict]:
    """(model, meta, {series key: SeriesState}) from a ``DIR/model`` folder."""
    dir = Path(dir)
    if not (dir / STATE_FILE).is_file() and (dir / "model" / STATE_FILE).is_file():
        dir = dir / "model"  # accept the run folder too
    path = dir / STATE_FILE
    if not path.is_file():
        raise CheckpointError(
            f"--model {str(dir)!r}: {STATE_FILE} is missing; pass the DIR/model of a forecast run"
        )
    saved = read_json_object(path)
    try:
        meta, states = (
            saved["meta"],
            {k: SeriesState.from_dict(v) for k, v in saved["series"].items()},
        )
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise CheckpointError(f"{str(path)!r} is not a valid forecast state: {err}") from None
    model, _ = load_model(dir, lambda c: build_model(c, str(dir / "model.json")))
    return model, meta, states
