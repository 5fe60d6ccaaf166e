"""Known-future calendar covariates generated from timestamps.

For a ``DatetimeIndex`` each cyclic field becomes a (sin, cos) pair, so that December
sits next to January:

    phase = 2 pi * value / period,   features = (sin phase, cos phase)

The fields depend on the data's step: month of year (period 12) for monthly and
quarterly data, day of year (365.25) for weekly data, day of week (7) and day of year
for daily data, hour (24) and day of week below a day. Yearly data and integer-step
times have no calendar: zero features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["calendar_features", "calendar_fields"]

_FIELDS = {  # name: (value of a DatetimeIndex, period)
    "month": (lambda t: t.month - 1, 12.0),
    "day_of_year": (lambda t: t.day_of_year - 1, 365.25),
    "day_of_week": (lambda t: t.day_of_week, 7.0),
    "hour": (lambda t: t.hour, 24.0),
}


def calendar_fields(reference: pd.Index) -> list[str]:
    """The calendar fields used for series with the step of ``reference``."""
    if not isinstance(reference, pd.DatetimeIndex) or len(reference) < 2:
        return []
    step_days = float(np.median(np.diff(reference.as_unit("ns").asi8))) / 86_400e9
    if step_days >= 360:
        return []
    if step_days >= 28:
        return ["month"]
    if step_days >= 7:
        return ["day_of_year"]
    if step_days >= 1:
        return ["day_of_week", "day_of_year"]
    return ["hour", "day_of_week"]


def calendar_features(time: pd.Index, reference: pd.Index | None = None) -> np.ndarray:
    """(N, 2 * fields) sin/cos features of ``time``.

    ``reference`` (default ``time``) decides the fields, so that a forecast's few future
    timestamps get the same columns as the history they follow.
    """
    names = calendar_fields(reference if reference is not None else time)
    if not names:
        return np.zeros((len(time), 0))
    cols = []
    for name in names:
        value, period = _FIELDS[name]
        phase = 2 * np.pi * np.asarray(value(time), dtype=float) / period  # (N,)
        cols += [np.sin(phase), np.cos(phase)]
    return np.stack(cols, axis=1)  # (N, 2 * fields)
