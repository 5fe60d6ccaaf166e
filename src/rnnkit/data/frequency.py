"""Time grids: the regular frequency timestamps sit on, the grid between two times, and the
times that follow.

Datetime series use pandas offset aliases (``MS``, ``W-SAT``, ``YS``, ``D`` ...); integer
series (``year`` 1700, 1701, ...) use a positive integer step.
"""

from __future__ import annotations

import warnings
from typing import Union

import numpy as np
import pandas as pd

__all__ = ["Freq", "guess_freq", "regular_grid", "next_times"]

Freq = Union[str, int]


def guess_freq(time: pd.DatetimeIndex) -> str | None:
    """A pandas alias for the grid the timestamps sit on, or None (also for fewer than 2)."""
    if len(time) < 2:
        return None
    if len(time) >= 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas 3 announces an offset return type
            inferred = pd.infer_freq(time)
        if inferred:
            return pd.tseries.frequencies.to_offset(inferred).freqstr
    days = float(np.median(np.diff(time.as_unit("ns").asi8))) / 86_400e9
    if abs(days - 7) < 0.5:
        return "W-" + time[0].day_name()[:3].upper()
    for lo, hi, start, end, is_start, is_end in (
        (28, 31, "MS", "ME", time.is_month_start, time.is_month_end),
        (89, 92, "QS", "QE", time.is_quarter_start, time.is_quarter_end),
        (365, 366, "YS", "YE", time.is_year_start, time.is_year_end),
    ):
        if lo <= days <= hi:
            return start if is_start.mean() > 0.5 else end if is_end.mean() > 0.5 else None
    step = pd.Timedelta(np.median(np.diff(time.as_unit("ns").asi8)))
    if step <= pd.Timedelta(0):
        return None
    if step % pd.Timedelta(days=1) == pd.Timedelta(0):
        n = step // pd.Timedelta(days=1)
        return "D" if n == 1 else f"{n}D"
    return pd.tseries.frequencies.to_offset(step).freqstr


def regular_grid(time: pd.Index, freq: Freq) -> pd.Index:
    if isinstance(time, pd.DatetimeIndex):
        return pd.date_range(time[0], time[-1], freq=freq)
    return pd.Index(np.arange(time[0], time[-1] + 1, int(freq)), name=time.name)


def next_times(time: pd.Index, freq: Freq, steps: int) -> pd.Index:
    """The ``steps`` timestamps after ``time[-1]`` on the grid ``freq``."""
    if isinstance(time, pd.DatetimeIndex):
        return pd.date_range(time[-1], periods=steps + 1, freq=freq)[1:]
    return pd.Index(time[-1] + int(freq) * np.arange(1, steps + 1), name=time.name)
