"""The time stamps of a long frame (unique_id, ds, y, sorted): the panel's step, series that skip
steps refused, and each series' next H stamps.

The `Forecaster` reads each series' rows as consecutive steps: the network's windows, the
seasonal indices and the partners all count positions, not dates. A series with a missing step
(a month without a row) would be read as if its later points came one step earlier, and its
season would be shifted by one from there on, silently. So ``fit`` and ``predict`` refuse it
with one line naming the series, the row and the missing stamp, as the CLI's reader does with
its default ``--missing error`` (``rnnkit.data.timeseries``).

    step = time_step(long)                 # "MS", "D", ... (datetimes), a number (integers), or None
    check_steps(long, "fit")               # DataError where a series skips a step
    ds = future_stamps(long, ids, horizon) # (S * H,), series after series

The step of datetimes is the frequency pandas infers from the last 20 stamps of the longest
series; where it infers none (irregular stamps), nothing can be checked and the future stamps
continue with the median time difference. The step of numbers is the median difference of
consecutive stamps over all series.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from rnnkit.errors import DataError

__all__ = ["check_steps", "future_stamps", "time_step"]


def time_step(long: pd.DataFrame):
    """The panel's step (module doc): a pandas frequency string, a number, or None."""
    ds = long["ds"]
    if pd.api.types.is_datetime64_any_dtype(ds):
        longest = long[long["unique_id"] == long["unique_id"].value_counts().idxmax()]["ds"]
        with warnings.catch_warnings():  # pandas 3 warns that infer_freq will return an offset
            warnings.simplefilter("ignore")
            return pd.infer_freq(longest.iloc[-20:]) if len(longest) >= 3 else None
    diffs = long.groupby("unique_id", sort=False)["ds"].diff().dropna()
    return diffs.median() if len(diffs) else None


def check_steps(long: pd.DataFrame, what: str) -> None:
    """One-line ``DataError`` at the first series whose consecutive time stamps are not one step
    apart (a gap, or stamps off the panel's grid), or when the stamps are neither numbers nor
    datetimes (the next ones could not be written); nothing when the step is unknown."""
    ds = long["ds"]
    if not (pd.api.types.is_datetime64_any_dtype(ds) or pd.api.types.is_numeric_dtype(ds)) \
            or pd.api.types.is_bool_dtype(ds):
        raise DataError(f"{what}: the time column holds {ds.dtype} values (first: {ds.iloc[0]!r}); it must hold "
                        "numbers or datetimes (for dates written as text, pd.to_datetime them first)")
    step = time_step(long)
    if step is None:
        return
    prev = long.groupby("unique_id", sort=False)["ds"].shift(1)
    has = prev.notna().to_numpy()
    if not has.any():
        return
    if isinstance(step, str):  # calendar steps (month starts, business days, ...): the offset, not a duration
        with warnings.catch_warnings():  # offsets without a vectorised form warn that they loop
            warnings.simplefilter("ignore")
            expected = prev[has] + to_offset(step)
        ok = (ds[has] == expected).to_numpy()
    else:
        ok = np.isclose(ds[has].to_numpy(float), prev[has].to_numpy(float) + float(step), rtol=0,
                        atol=1e-6 * abs(float(step)))  # absolute: stamps like epoch seconds are large
    if ok.all():
        return
    i = np.flatnonzero(has)[np.flatnonzero(~ok)[0]]  # the first stamp that is not one step on
    sid, before, after = long["unique_id"].iloc[i], ds.iloc[i - 1], ds.iloc[i]  # row i - 1: the same series
    name = step if isinstance(step, str) else f"{step:g}"
    raise DataError(f"{what}: series {sid!r} has time stamps {before} and {after} in a row, not one step ({name}) "
                    "apart: the Forecaster reads rows as consecutive steps, so fill the missing steps first "
                    "(e.g. reindex to the full range and interpolate)")


def future_stamps(long: pd.DataFrame, ids: list[str], horizon: int) -> np.ndarray:
    """Each series' next ``horizon`` time stamps (integer steps or the inferred frequency),
    series after series in the order of ``ids``: (S * H,)."""
    last = long.groupby("unique_id", sort=False)["ds"].last().reindex(ids)
    steps = np.arange(1, horizon + 1)
    step = time_step(long)
    if pd.api.types.is_datetime64_any_dtype(long["ds"]):
        if step is None:
            longest = long[long["unique_id"] == long["unique_id"].value_counts().idxmax()]["ds"]
            delta = longest.diff().median() if len(longest) > 1 else pd.Timedelta(days=1)
            return np.concatenate([t + delta * steps for t in last])
        return np.concatenate([pd.date_range(t, periods=horizon + 1, freq=step)[1:] for t in last])
    return (last.to_numpy()[:, None] + (1 if step is None else step) * steps).ravel()
