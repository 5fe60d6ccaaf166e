"""Known-future calendar covariates generated from timestamps.

For a ``DatetimeIndex`` each cyclic field becomes a (sin, cos) pair, so that December
sits next to January:

    phase = 2 pi * (value - lo) / period,  features = (sin phase, cos phase)

Fields used depend on the frequency: month of year for monthly and coarser-than-daily
data, week of year for weekly data, day of week and day of year for daily data, hour
for sub-daily data. Integer-step times have no calendar: zero features.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["calendar_features", "calendar_size"]


def _fields(time: pd.Index) -> list[tuple[np.ndarray, float]]:
    if not isinstance(time, pd.DatetimeIndex) or len(time) < 2:
        return []
    step_days = float(np.median(np.diff(time.as_unit("ns").asi8))) / 86_400e9 if len(time) > 1 else 1.0
    if step_days >= 360:  # yearly: nothing cyclic within a year
        return []
    if step_days >= 28:  # monthly, quarterly
        return [(time.month.to_numpy() - 1, 12.0)]
    if step_days >= 7:  # weekly
        return [(time.day_of_year.to_numpy() - 1, 365.25)]
    if step_days >= 1:  # daily
        return [(time.day_of_week.to_numpy(), 7.0), (time.day_of_year.to_numpy() - 1, 365.25)]
    return [(time.hour.to_numpy(), 24.0), (time.day_of_week.to_numpy(), 7.0)]


def calendar_features(time: pd.Index, reference: pd.Index | None = None) -> np.ndarray:
    """(N, F) sin/cos calendar features of ``time``.

    ``reference`` (default ``time``) decides which fields are used, so that a forecast's
    few future timestamps get the same features as the training data.
    """
    fields = _fields(reference if reference is not None else time)
    if not fields:
        return np.zeros((len(time), 0))
    ref_fields = _fields(reference) if reference is not None else fields
    cols = []
    for (_, period), (values, _) in zip(ref_fields, _fields_like(time, ref_fields)):
        phase = 2 * np.pi * values / period
        cols += [np.sin(phase), np.cos(phase)]
    return np.stack(cols, axis=1)  # (N, 2 * fields)


def _fields_like(time: pd.DatetimeIndex, ref_fields) -> list[tuple[np.ndarray, float]]:
    """The same fields as ``ref_fields`` (by period), computed for ``time``."""
    out = []
    for _, period in ref_fields:
        if period == 12.0:
            out.append((time.month.to_numpy() - 1, period))
        elif period == 365.25:
            out.append((time.day_of_year.to_numpy() - 1, period))
        elif period == 7.0:
            out.append((time.day_of_week.to_numpy(), period))
        else:
            out.append((time.hour.to_numpy(), period))
    return out


def calendar_size(time: pd.Index) -> int:
    return 2 * len(_fields(time))
