"""The time stamps of a long frame (unique_id, ds, y, sorted): the panel's step, series that skip
steps refused, and each series' next H stamps.

The `Forecaster` reads each series' rows as consecutive steps: the network's windows, the
seasonal indices and the partners all count positions, not dates. A series with a missing step
(a month without a row) would be read as if its later points came one step earlier, and its
season would be shifted by one from there on, silently. So ``fit`` and ``predict`` refuse it
with one line naming the series, the row and the missing stamp, as the CLI's reader does with
its default ``--missing error`` (``rnnkit.data.timeseries``).

    step = time_step(long)                       # "MS", "D", ... (datetimes, periods), a number, or None
    step = check_steps(long, "fit")              # the same step; DataError where a series skips one
    step = check_steps(new, "predict", fitted)   # too few stamps to tell (a new series of 1-2): the fitted step
    ds = future_stamps(long, ids, horizon, step) # (S * H,), series after series
    m = infer_season(step)                       # 12 for "MS", 7 for "D", 1 for numbers, ...

The step of datetimes is the frequency pandas infers most often over up to 8 stretches of 20
stamps spread along the longest series, so a gap inside one stretch (which makes pandas infer
nothing there) does not hide the step from the check. Where no stretch gives a frequency
(irregular stamps), nothing can be checked and the future stamps continue with the median time
difference of the longest series. The step of numbers is the median difference of consecutive
stamps over all series. Periods (``pd.Period``, the stamps of a ``PeriodIndex``, as sktime and
statsmodels keep them) carry their step in their type: a series' next period is the last one plus 1,
and a series skips a step where two of its periods in a row are not consecutive.
"""
from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from rnnkit.errors import DataError

__all__ = ["check_steps", "future_stamps", "infer_season", "is_period", "time_step"]


STRETCH, STRETCHES = 20, 8  # datetimes: the frequency is inferred on up to 8 stretches of 20 stamps


# steps in the cycle users expect of each step, by pandas rule code (current and older spellings; case matters:
# "ms" is a millisecond, "MS" a month start): a day of minutes or hours, a week of days or business days, a year
# of half-months, months, quarters or weeks
_CYCLES = {"min": 1440, "T": 1440, "h": 24, "H": 24, "D": 7, "B": 5, "C": 5, "W": 52}
_CALENDAR = (("SM", 24), ("M", 12), ("BM", 12), ("CBM", 12), ("Q", 4), ("BQ", 4))  # the code, or it + "S" / "E"; else 1


def infer_season(step) -> int:
    """The seasonal period a time step implies, the cycle users of each frequency expect: 12 monthly,
    4 quarterly, 52 weekly, 7 daily, 5 business-daily, 24 hourly, 1440 / n for n-minute steps (96 for
    15 minutes: the day), and the cycle over n for a multiple that divides it (6 for two-monthly, 12 for
    two-hourly); 1 for a multiple that does not, for yearly, second and finer steps, for business hours,
    for numbers and for None. ``step``: a pandas frequency (what ``time_step`` gives for datetimes)."""
    if not isinstance(step, str):
        return 1
    offset = to_offset(step)
    code = offset.rule_code.split("-")[0]  # "QS-OCT" -> "QS", "W-SUN" -> "W"
    cycle = _CYCLES.get(code) or next((c for prefix, c in _CALENDAR if code in (prefix, prefix + "S", prefix + "E")), 1)
    return cycle // offset.n if cycle % offset.n == 0 else 1


def is_period(ds) -> bool:
    """Whether a column (or dtype) holds periods: ``pd.Period`` stamps of one frequency."""
    return isinstance(getattr(ds, "dtype", ds), pd.PeriodDtype)


def _longest(long: pd.DataFrame) -> pd.Series:
    return long.loc[long["unique_id"] == long["unique_id"].value_counts().idxmax(), "ds"]


def time_step(long: pd.DataFrame):
    """The panel's step (module doc): a pandas frequency string, a number, or None."""
    ds = long["ds"]
    if is_period(ds):  # the periods' own frequency ("ME" for monthly periods in pandas 3)
        return ds.dtype.freq.freqstr
    if pd.api.types.is_datetime64_any_dtype(ds):
        stamps = _longest(long)
        starts = np.unique(np.linspace(0, max(len(stamps) - STRETCH, 0), STRETCHES).astype(int))
        found = []
        with warnings.catch_warnings():  # pandas 3 warns that infer_freq will return an offset
            warnings.simplefilter("ignore")
            for a in starts:
                part = stamps.iloc[a:a + STRETCH]
                found.append(pd.infer_freq(part) if len(part) >= 3 else None)
        counts = Counter(f for f in found if f is not None)
        return counts.most_common(1)[0][0] if counts else None  # the most common; ties: the earliest stretch
    diffs = long.groupby("unique_id", sort=False)["ds"].diff().dropna()
    return diffs.median() if len(diffs) else None


def check_steps(long: pd.DataFrame, what: str, fallback=None):
    """The panel's step (``time_step``), after a one-line ``DataError`` at the first series whose
    consecutive time stamps are not one step apart (a gap, or stamps off the panel's grid), or when
    the stamps are neither numbers nor datetimes (the next ones could not be written); with an
    unknown step (None) nothing is checked. ``fallback``: the step to use where the stamps cannot
    tell it (``predict`` on series of one or two points: the step ``fit`` found), when it is of
    their kind (a frequency for datetimes, a number for numbers)."""
    ds = long["ds"]
    if not (pd.api.types.is_datetime64_any_dtype(ds) or pd.api.types.is_numeric_dtype(ds) or is_period(ds)) \
            or pd.api.types.is_bool_dtype(ds):
        raise DataError(f"{what}: the time column holds {ds.dtype} values (first: {ds.iloc[0]!r}); it must hold "
                        "numbers, datetimes or periods (for dates written as text, pd.to_datetime them first)")
    step = time_step(long)
    if step is None and fallback is not None and isinstance(fallback, str) == pd.api.types.is_datetime64_any_dtype(ds):
        step = fallback
    if step is None:
        return None
    prev = long.groupby("unique_id", sort=False)["ds"].shift(1)
    has = prev.notna().to_numpy()
    if not has.any():
        return step
    if is_period(ds):  # consecutive periods: ordinals one step (n base units for 2M, 15min, ...) apart
        ok = ds[has].array.asi8 == prev[has].array.asi8 + ds.dtype.freq.n
    elif isinstance(step, str):  # calendar steps (month starts, business days, ...): the offset, not a duration
        with warnings.catch_warnings():  # offsets without a vectorised form warn that they loop
            warnings.simplefilter("ignore")
            expected = prev[has] + to_offset(step)
        ok = (ds[has] == expected).to_numpy()
    else:
        ok = np.isclose(ds[has].to_numpy(float), prev[has].to_numpy(float) + float(step), rtol=0,
                        atol=1e-6 * abs(float(step)))  # absolute: stamps like epoch seconds are large
    if ok.all():
        return step
    i = np.flatnonzero(has)[np.flatnonzero(~ok)[0]]  # the first stamp that is not one step on
    sid, before, after = long["unique_id"].iloc[i], ds.iloc[i - 1], ds.iloc[i]  # row i - 1: the same series
    name = str(ds.dtype) if is_period(ds) else step if isinstance(step, str) else f"{step:g}"
    raise DataError(f"{what}: series {sid!r} has time stamps {before} and {after} in a row, not one step ({name}) "
                    "apart: the Forecaster reads rows as consecutive steps, so fill the missing steps first "
                    "(e.g. reindex to the full range and interpolate)")


def future_stamps(long: pd.DataFrame, ids: list[str], horizon: int, step):
    """Each series' next ``horizon`` time stamps, ``step`` (``time_step(long)``) after step,
    series after series in the order of ``ids``: (S * H,), a NumPy array (a pandas PeriodArray
    for periods, which keeps their frequency)."""
    last = long.groupby("unique_id", sort=False)["ds"].last().reindex(ids)
    steps = np.arange(1, horizon + 1)
    if is_period(long["ds"]):
        ordinals = (last.array.asi8[:, None] + long["ds"].dtype.freq.n * steps).ravel()
        return pd.arrays.PeriodArray(ordinals, dtype=long["ds"].dtype)
    if pd.api.types.is_datetime64_any_dtype(long["ds"]):
        if step is None:
            longest = _longest(long)
            delta = longest.diff().median() if len(longest) > 1 else pd.Timedelta(days=1)
            return np.concatenate([t + delta * steps for t in last])
        return np.concatenate([pd.date_range(t, periods=horizon + 1, freq=step)[1:] for t in last])
    step = 1 if step is None else step
    if pd.api.types.is_integer_dtype(long["ds"]) and float(step).is_integer():  # integer stamps stay integers
        return (last.to_numpy()[:, None] + int(step) * steps).ravel()
    return (last.to_numpy()[:, None] + step * steps).ravel()
