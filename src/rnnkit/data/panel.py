"""A panel of series of different lengths as one right-aligned, masked tensor, and windows from it.

A long DataFrame (one row per series and time) becomes

    values (S, T)   series s in its last n_s columns, left-padded with zeros
    mask   (S, T)   True where a value was observed
    lengths (S,)    n_s

so "the last L points of every series" or "a window ending c points before the end of
series s" are plain index arithmetic on columns, for all series at once: no Python loop
per series. A series shorter than a window is left-padded and masked, never refused.

Windows (L lookback, H horizon, c the cut: number of observed points after the target):

    input  columns [T - c - H - L, T - c - H)     target columns [T - c - H, T - c)

Columns before 0 are masked. Per-window scaling (``scale_windows``) divides by the level
l = masked mean of the last k observed input points, and in log mode takes logs:

    z = log(x / l)         (log mode: every value > 0)
    z = (x - l) / a        (linear mode; a = masked mean |x| of the window, 1 if that is 0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from rnnkit.errors import ConfigError, DataError

__all__ = [
    "NAMES", "output_names", "Panel", "long_to_panel", "as_columns", "validate_long", "id_kind", "with_ids",
    "unit_scales",
    "window_series", "draw_windows", "sample_windows", "last_windows", "scale_windows", "seasonal_indices",
    "deseasonalise", "future_factors",
]


@dataclass
class Panel:
    ids: list[str]
    values: torch.Tensor  # (S, T) float32, right-aligned
    mask: torch.Tensor  # (S, T) bool
    lengths: torch.Tensor  # (S,) int64


NAMES = ("unique_id", "ds", "y")  # a long frame's id, time and target columns, unless named otherwise
RESERVED = ("forecast", "cutoff")  # the forecasts' own columns, beside lo-<level> and hi-<level>


def output_names(id_col, time_col, target_col, cutoff: bool = False) -> tuple:
    """The id, time and target column names, once checked that forecasts can come back under them:
    three different names, none that the forecasts' own columns take (forecast, lo-*, hi-*, and cutoff
    in cross-validation); else a one-line ConfigError naming the argument."""
    names = (id_col, time_col, target_col)
    args = ("id_col", "time_col", "target_col")
    for arg, col in zip(args, names):
        taken = col in RESERVED[:1 + cutoff] or (isinstance(col, str) and col[:3] in ("lo-", "hi-"))
        if taken:
            raise ConfigError(f"{arg}={col!r} is the name of a column of the forecasts; rename that column first")
    if len(set(names)) < 3:
        raise ConfigError(f"id_col, time_col and target_col must be three different columns, got {names!r}")
    return names


def as_columns(df, *cols):
    """``df`` with the index levels named in ``cols`` that are not columns moved into columns (a frame
    indexed by ``(unique_id, ds)``, as sktime keeps a panel, or by its time stamps alone); anything else
    as it is."""
    if not isinstance(df, pd.DataFrame):
        return df
    levels = [c for c in dict.fromkeys(cols) if c not in df.columns and c in df.index.names]
    return df.reset_index(level=levels) if levels else df


def validate_long(df: pd.DataFrame, id_col: str, time_col: str, target_col: str, what: str = "df") -> pd.DataFrame:
    """Check a long frame and return it sorted by (id, time) with those three columns only."""
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{what}: expected a pandas DataFrame, got {type(df).__name__}")
    for arg, col in (("id_col", id_col), ("time_col", time_col), ("target_col", target_col)):
        if col not in df.columns:
            raise DataError(f"{what}: {arg}={col!r} is not a column (columns: {', '.join(map(str, df.columns))})")
    for col in dict.fromkeys((id_col, time_col, target_col)):
        if (n := int((df.columns == col).sum())) > 1:
            raise DataError(f"{what}: column {col!r} appears {n} times; rename or drop the copies")
    out = df[[id_col, time_col, target_col]].copy()
    out[id_col] = out[id_col].astype(str)
    if len(out) == 0:
        raise DataError(f"{what}: the frame has no rows")
    gap = out[time_col].isna().to_numpy()
    if gap.any():
        i = int(np.flatnonzero(gap)[0])
        raise DataError(f"{what}: column {time_col!r} row {i} (series {out[id_col].iloc[i]!r}) has no time stamp "
                        f"({out[time_col].iloc[i]}); every row needs one")
    y = pd.to_numeric(out[target_col], errors="coerce")
    bad = y.isna() & out[target_col].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{what}: column {target_col!r} row {i}: {out[target_col].iloc[i]!r} is not a number")
    out[target_col] = y.astype(float)
    nan = ~np.isfinite(out[target_col].to_numpy())
    if nan.any():
        i = int(np.flatnonzero(nan)[0])
        raise DataError(
            f"{what}: column {target_col!r} row {i} (series {out[id_col].iloc[i]!r}, "
            f"{time_col} {out[time_col].iloc[i]}) is {out[target_col].iloc[i]}; fill or drop missing values first"
        )
    dup = out.duplicated([id_col, time_col])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(
            f"{what}: series {out[id_col].iloc[i]!r} has more than one row at {time_col} "
            f"{out[time_col].iloc[i]} (row {i}); each (id, time) pair must be unique"
        )
    return out.sort_values([id_col, time_col], kind="stable").reset_index(drop=True)


UNIT_RANGE = (1e-6, 1e15)  # a series whose largest |y| lies outside is brought near 1 (unit_scales)


def id_kind(df, id_col: str) -> str:
    """"int" when ``df``'s series ids are integers, none missing (``validate_long`` reads every id as text, so
    a forecast made from ``df`` turns them back with ``with_ids``), else "str"."""
    col = df[id_col] if isinstance(df, pd.DataFrame) and id_col in df.columns else None
    ok = col is not None and pd.api.types.is_integer_dtype(col) and not pd.api.types.is_bool_dtype(col)
    return "int" if ok and not col.isna().any() else "str"


def with_ids(out: pd.DataFrame, kind: str, id_col: str = "unique_id") -> pd.DataFrame:
    """``out`` with its (text) ids back as ``kind`` says: int64 for "int", its series then in the numbers'
    order (the text order puts 14 before 7), each series' rows as they were; as it is for "str"."""
    if kind != "int":
        return out
    out = out.assign(**{id_col: out[id_col].astype(np.int64)})
    return out.sort_values(id_col, kind="stable").reset_index(drop=True)


def unit_scales(long: pd.DataFrame, id_col: str = "unique_id", target_col: str = "y") -> pd.Series:
    """Per series (index: its id), the power of two that brings its largest |y| near 1 when that
    lies outside ``UNIT_RANGE``, else 1.0. The forecasting code has absolute guards (logs of values
    clamped at 1e-12) and float32 tensors, so a series in units of 1e-20 or 1e35 would be forecast
    wrongly (or as inf); multiplied by its factor it is not. A power of two rescales floats exactly,
    so a series inside the range is left bit for bit as it is."""
    top = long[target_col].abs().groupby(long[id_col], sort=False).max()
    out = (top > 0) & ((top < UNIT_RANGE[0]) | (top > UNIT_RANGE[1]))
    return pd.Series(np.exp2(-np.where(out, np.round(np.log2(top.where(out, 1.0))), 0.0)), index=top.index)


def long_to_panel(df: pd.DataFrame, id_col: str, target_col: str) -> Panel:
    """A validated, sorted long frame -> Panel (series in first-appearance order of the sorted frame)."""
    codes, ids = pd.factorize(df[id_col], sort=False)
    lengths = np.bincount(codes, minlength=len(ids))
    S, T = len(ids), int(lengths.max())
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.arange(len(df)) - start[codes]  # position within its series
    col = T - lengths[codes] + pos  # right-aligned column
    values = np.zeros((S, T), np.float32)
    mask = np.zeros((S, T), bool)
    values[codes, col] = df[target_col].to_numpy(np.float32)
    mask[codes, col] = True
    return Panel([str(i) for i in ids], torch.from_numpy(values), torch.from_numpy(mask), torch.from_numpy(lengths))


def _gather(panel: Panel, rows: torch.Tensor, first: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """values/mask at columns first..first+width-1 of the given rows (before 0: masked)."""
    cols = first[:, None] + torch.arange(width)  # (B, width)
    ok = cols >= 0
    cols = cols.clamp(min=0)
    x = panel.values[rows[:, None], cols]  # (B, width)
    m = panel.mask[rows[:, None], cols] & ok  # (B, width)
    return x * m, m


def window_series(panel: Panel, horizon: int) -> torch.Tensor:
    """(E,) the rows of the series that give training windows: at least H + 1 points. A caller
    drawing many batches from one panel computes it once and passes it to ``draw_windows``."""
    return torch.nonzero(panel.lengths > horizon).squeeze(1)


def draw_windows(
    panel: Panel, batch: int, horizon: int, history: int | None, generator: torch.Generator,
    eligible: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows (B,), target_first (B,)): the series and first target column of B windows, series drawn
    uniformly among ``eligible`` (default ``window_series(panel, horizon)``), the cut c uniform over
    the min(n_s - H, history) latest possible positions."""
    if eligible is None:
        eligible = window_series(panel, horizon)  # (E,)
    rows = eligible[torch.randint(len(eligible), (batch,), generator=generator)]  # (B,)
    span = panel.lengths[rows] - horizon  # (B,) number of possible cuts
    if history is not None:
        span = span.clamp(max=history)
    cut = (torch.rand(batch, generator=generator) * span).long()  # (B,) in [0, span)
    return rows, panel.values.shape[1] - cut - horizon


def sample_windows(
    panel: Panel, batch: int, lookback: int, horizon: int, history: int | None, generator: torch.Generator,
    eligible: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of (input (B, L), input mask (B, L), target (B, H)) windows, drawn by ``draw_windows``.

    Only series with at least H + 1 points give windows; the cut c is uniform over the
    min(n_s - H, history) latest possible positions.
    """
    rows, target_first = draw_windows(panel, batch, horizon, history, generator, eligible)
    x, m = _gather(panel, rows, target_first - lookback, lookback)
    y, _ = _gather(panel, rows, target_first, horizon)
    return x, m, y


def last_windows(panel: Panel, lookback: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The last L points of every series: (S, L) values and mask."""
    S, T = panel.values.shape
    return _gather(panel, torch.arange(S), torch.full((S,), T - lookback), lookback)


def scale_windows(
    x: torch.Tensor, m: torch.Tensor, k: int, log: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(z (B, L), level (B,), spread (B,)): the scaled window and what undoes it (see module doc)."""
    mf = m.float()
    tail = mf[:, -k:]  # (B, k)
    n_tail = tail.sum(1)
    # A window whose last k points are all padding cannot occur (windows end at observed points).
    level = (x[:, -k:] * tail).sum(1) / n_tail.clamp(min=1)  # (B,)
    if log:
        z = torch.log(x.clamp(min=1e-12) / level[:, None]) * mf
        spread = torch.ones_like(level)
    else:
        a = (x.abs() * mf).sum(1) / mf.sum(1).clamp(min=1)
        spread = torch.where(a > 0, a, torch.ones_like(a))
        z = (x - level[:, None]) / spread[:, None] * mf
    return z.clamp(-20, 20), level, spread


def seasonal_indices(panel: Panel, season: int, min_cycles: int = 3) -> torch.Tensor:
    """Per-series log seasonal indices (S, season) by classical decomposition, for positive panels.

    With l_t = log x_t and a centred moving average a_t over one season (2×m for even m),
    s_p = mean over t with phase p of (l_t - a_t), then centred so sum_p s_p = 0. The phase
    of column c is c mod m (columns are right-aligned, so the phase counts back from each
    series' last point). Series with fewer than ``min_cycles`` seasons get zeros.
    """
    S, T = panel.values.shape
    m = season
    if m < 2:
        return torch.zeros(S, max(m, 1))
    logv = torch.log(panel.values.clamp(min=1e-12)) * panel.mask  # (S, T)
    w = torch.ones(m + 1) if m % 2 == 0 else torch.ones(m)
    if m % 2 == 0:
        w[0] = w[-1] = 0.5
    w = w / w.sum()
    k = len(w)  # odd: output j of the convolution is centred on column j + k // 2
    if T < k:
        return torch.zeros(S, m)
    num = torch.nn.functional.conv1d(logv[:, None], w.view(1, 1, -1))[:, 0]  # (S, T - k + 1)
    full = torch.nn.functional.conv1d(panel.mask.float()[:, None], torch.ones(1, 1, k))[:, 0] > k - 0.5
    trend = torch.zeros(S, T)
    ok = torch.zeros(S, T, dtype=torch.bool)
    trend[:, k // 2: k // 2 + num.shape[1]] = num
    ok[:, k // 2: k // 2 + num.shape[1]] = full
    d = (logv - trend) * ok  # (S, T) detrended where the average is complete
    phase = torch.arange(T) % m  # (T,)
    onehot = torch.nn.functional.one_hot(phase, m).float()  # (T, m)
    s = (d @ onehot) / (ok.float() @ onehot).clamp(min=1)  # (S, m)
    s = s - s.mean(1, keepdim=True)
    return torch.where((panel.lengths >= min_cycles * m)[:, None], s, torch.zeros_like(s))


def deseasonalise(panel: Panel, indices: torch.Tensor) -> Panel:
    """The panel divided by exp(s_phase) where observed (see ``seasonal_indices``)."""
    T = panel.values.shape[1]
    m = indices.shape[1]
    factor = torch.exp(indices[:, torch.arange(T) % m])  # (S, T)
    return Panel(panel.ids, panel.values / factor * panel.mask, panel.mask, panel.lengths)


def future_factors(panel: Panel, indices: torch.Tensor, horizon: int) -> torch.Tensor:
    """exp(s_phase) for the H columns after the panel's last: (S, H)."""
    T = panel.values.shape[1]
    m = indices.shape[1]
    return torch.exp(indices[:, (T + torch.arange(horizon)) % m])
