"""The step budget: steps = clip(epochs W / B, floor, max_steps), the floor min_steps capped at
max_epochs passes over the W distinct training windows (docs/forecaster.md)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.estimator import Forecaster

FAST = {"hidden": 4, "lookbacks": (2.0,), "theta": 0.0, "damped": 0.0, "batch_size": 32}  # no held-out fit


def series(lengths: dict[str, int]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.concat([pd.DataFrame({"unique_id": k, "ds": np.arange(n), "y": 10 + rng.normal(0, 1, n)})
                      for k, n in lengths.items()], ignore_index=True)


@pytest.mark.parametrize("cap", [None, 16, 64])
def test_one_short_series_stops_at_the_epoch_cap(cap):
    df = series({"a": 30})  # W = 30 - 4 = 26 windows
    f = Forecaster(4, min_steps=40, max_steps=100, epochs=8, max_epochs=cap, **FAST).fit(df)
    floor = 40 if cap is None else min(40, math.ceil(cap * 26 / 32))
    assert f.steps_ == max(floor, math.ceil(8 * 26 / 32)) == {None: 40, 16: 13, 64: 40}[cap]


def test_the_cap_leaves_a_panel_with_enough_windows_alone_and_never_undercuts_the_epochs_budget():
    df = series({f"s{i}": 60 for i in range(10)})  # W = 10 * 56 = 560
    opts = {"min_steps": 100, "max_steps": 500, "epochs": 2, **FAST}  # epochs budget ceil(2 * 560 / 32) = 35
    assert Forecaster(4, max_epochs=None, **opts).fit(df).steps_ == 100  # the floor
    assert Forecaster(4, max_epochs=8, **opts).fit(df).steps_ == 100  # 8 passes = 140 steps > the floor
    assert Forecaster(4, max_epochs=1, **opts).fit(df).steps_ == 35  # capped at 18, but epochs asks 35


def test_max_epochs_must_be_positive():
    for bad in (0, -1, "many"):
        with pytest.raises(ConfigError, match="max_epochs"):
            Forecaster(4, max_epochs=bad)


def test_the_default_has_no_cap():
    """The cap helped single series of 20-40 windows and hurt longer ones (thirteenth session)."""
    assert Forecaster(4).options.max_epochs is None
