"""Calendar features: fields chosen by the step, sin/cos values, future steps match history."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rnnkit.data.calendar import calendar_features, calendar_fields


def test_fields_follow_the_step():
    assert calendar_fields(pd.date_range("2000-01", periods=5, freq="MS")) == ["month"]
    assert calendar_fields(pd.date_range("2000-01-01", periods=5, freq="W-SAT")) == ["day_of_year"]
    assert calendar_fields(pd.date_range("2000-01-01", periods=5, freq="D")) == [
        "day_of_week",
        "day_of_year",
    ]
    assert calendar_fields(pd.date_range("2000-01-01", periods=5, freq="h")) == [
        "hour",
        "day_of_week",
    ]
    assert calendar_fields(pd.date_range("2000", periods=5, freq="YS")) == []
    assert calendar_fields(pd.Index([1700, 1701, 1702])) == []


def test_month_features_are_sin_cos_of_the_month():
    t = pd.date_range("2000-01", periods=13, freq="MS")
    f = calendar_features(t)
    assert f.shape == (13, 2)
    assert np.allclose(f[0], [0.0, 1.0]) and np.allclose(f[3], [1.0, 0.0])  # January, April
    assert np.allclose(f[12], f[0])  # a year later


def test_a_single_future_step_uses_the_history_fields():
    hist = pd.date_range("2000-01", periods=24, freq="MS")
    future = pd.DatetimeIndex(["2002-01-01"])
    assert calendar_features(future).shape == (1, 0)  # alone, one stamp has no step
    assert np.allclose(calendar_features(future, reference=hist), calendar_features(hist)[:1])
