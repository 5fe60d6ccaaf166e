"""From what users give to the long frames a `Forecaster` takes: any frame, series or array
(``long_frame``), and the CSV reader's series (below), and back.

``rnnkit.data.timeseries.read_series`` validates a CSV (grid, gaps, missing values, one
line per mistake) and returns one :class:`Series` per group. The CLI forecasts each
(group, target) pair as one series of one global `Forecaster`:

    unique_id  the group name ("group:target" with several targets; the file stem alone)
    ds         the position within the series, 0..n-1 (the reader owns the time grid)
    y          the target; covariate columns follow under their own names

Time stamps are put back from each series' own grid (``next_times``) when writing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.data.panel import as_columns, output_names, validate_long
from rnnkit.data.timeseries import Series, read_series
from rnnkit.datasets import DEFAULT_FORECAST_SERIES, forecast_series
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.forecast.stamps import infer_season  # the CLI and the Forecaster read a step alike

__all__ = ["Part", "bundled_or_file", "infer_season", "long_frame", "parts_of", "resolve_data", "to_long"]

STAMPED = (pd.DatetimeIndex, pd.PeriodIndex)  # an index that holds time stamps (any other: rows count 0, 1, ...)


def _stamps(index: pd.Index):
    """One series' time stamps from its index: its dates or periods, else the rows counted 0, 1, ..."""
    return index if isinstance(index, STAMPED) else np.arange(len(index))


def long_frame(df, id_col: str, time_col: str, target_col: str, what: str) -> pd.DataFrame:
    """``unique_id, ds, y``, validated and sorted (``data.panel.validate_long``), from a long frame under the
    names given (its id and time may be index levels) or from one series: a frame without the id column, a
    pandas Series, or a 1-D array or list of its values. ``what`` starts every one-line error."""
    output_names(id_col, time_col, target_col)  # three different names the forecasts can come back under
    if isinstance(df, (np.ndarray, list, tuple)):  # one series' values, steps 0, 1, ...
        try:
            values = np.asarray(df)
        except ValueError:  # ragged nested lists
            values = np.asarray(df, dtype=object)
        nested = values.ndim == 1 and values.dtype == object and any(
            isinstance(v, (list, tuple, np.ndarray)) for v in values)
        if values.ndim != 1 or nested:
            got = "nested sequences" if values.ndim == 1 else f"shape {values.shape}"
            raise DataError(f"{what}: an array is one series' values, 1-D; got {got} (for a panel, "
                            "pass a long DataFrame: id, time, value)")
        df = pd.Series(values, name=target_col)
    if isinstance(df, pd.Series):
        df = pd.DataFrame({time_col: _stamps(df.index), target_col: df.to_numpy()})
    df = as_columns(df, id_col, time_col)  # kept as the index (ds, or unique_id and ds) under their names
    if isinstance(df, pd.DataFrame) and id_col not in df.columns and target_col in df.columns:
        df = df.assign(**{id_col: "series"})
        if time_col not in df.columns:  # one series
            df[time_col] = _stamps(df.index)
    out = validate_long(df, id_col, time_col, target_col, what)
    return out.rename(columns={id_col: "unique_id", time_col: "ds", target_col: "y"})


def bundled_or_file(name: str | None):
    """(path, bundled info or None): a bundled series name, else the file as given."""
    name = name or DEFAULT_FORECAST_SERIES
    if not Path(name).exists() and "/" not in name and not name.endswith(".csv"):
        return forecast_series(name)  # unknown names: one line listing the bundled ones
    return name, None


def resolve_data(cfg):
    """Read the CSV (or bundled series) of ``cfg.data``; fill in bundled defaults.

    Returns (list of Series, cfg with data, target, horizon, season and missing resolved)."""
    d = cfg.data
    path, info = bundled_or_file(d.data)
    if info is not None:
        d = replace(d, data=str(path), target=d.target or [info.target], time_col=d.time_col or info.time_col,
                    horizon=d.horizon or info.horizon, season=d.season or info.season,
                    missing=info.missing if d.missing == "auto" else d.missing)
    elif d.horizon is None:
        raise ConfigError("--horizon is required with --data FILE")
    else:
        d = replace(d, missing="error" if d.missing == "auto" else d.missing)
    series = read_series(d.data, d.target or None, d.time_col, freq=d.freq, missing=d.missing,
                         group_col=d.group_col, covariates=[*d.static_covariates, *d.past_covariates],
                         future_covariates=d.future_covariates)
    d = replace(d, target=list(series[0].targets), season=d.season or infer_season(series[0].freq))
    return series, replace(cfg, data=d)


@dataclass(frozen=True)
class Part:
    """One forecast series: column ``c`` of ``series``, named ``key`` in the long frame."""

    key: str
    series: Series
    c: int

    @property
    def target(self) -> str:
        return self.series.targets[self.c]

    @property
    def values(self) -> np.ndarray:
        return self.series.values[:, self.c]


def parts_of(series: list[Series]) -> list[Part]:
    many = len(series[0].targets) > 1
    return [Part(f"{s.name}:{t}" if many else s.name, s, c) for s in series for c, t in enumerate(s.targets)]


def to_long(parts: list[Part], ends: dict | None = None) -> pd.DataFrame:
    """unique_id, ds, y (+ covariate columns) of each part's first ``ends[key]`` points (all by default)."""
    frames = []
    for p in parts:
        n = len(p.values) if ends is None else ends[p.key]
        cols = {"unique_id": p.key, "ds": np.arange(n), "y": p.values[:n]}
        for j, name in enumerate(p.series.covariate_names):
            cols[name] = p.series.covariates[:n, j]
        for j, name in enumerate(p.series.future_names):
            cols[name] = p.series.future[:n, j]
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)
