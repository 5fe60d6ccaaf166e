"""Helpers for the Forecaster's tests: frames and panels of named series for its combination partners
(Theta, damped trend), and a panel of unequal volatility for its loss and window scaling."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from rnnkit.data.panel import Panel, long_to_panel


def frame(series: dict[str, np.ndarray]) -> pd.DataFrame:
    """A long frame (unique_id, ds = 0..n-1, y) of the named series."""
    return pd.concat([pd.DataFrame({"unique_id": k, "ds": np.arange(len(v)), "y": v}) for k, v in series.items()],
                     ignore_index=True)


def panel(series: dict[str, np.ndarray]) -> Panel:
    return long_to_panel(frame(series), "unique_id", "y")


def one(method: Callable, y: np.ndarray, h: int, season: int = 1) -> np.ndarray:
    """``method``'s (H,) forecast of the single series ``y`` (multiplicative season when y > 0)."""
    return method(panel({"a": y}), h, season, bool((y > 0).all()))[0].numpy()


# a Forecaster small enough for wiring tests: one member, 30 steps, no partners
TINY = {"hidden": 8, "min_steps": 30, "max_steps": 30, "batch_size": 32, "lookbacks": (2.0,), "theta": 0.0,
        "damped": 0.0}


def volatility_panel(n_series: int = 6, length: int = 40, seed: int = 0) -> pd.DataFrame:
    """A long frame of series of very different volatility relative to their level (flat to wild)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_series):
        y = 100 * np.exp(np.cumsum(rng.normal(0, 0.002 * 4 ** i, length)))
        rows.append(pd.DataFrame({"unique_id": f"s{i}", "ds": np.arange(length), "y": y}))
    return pd.concat(rows, ignore_index=True)
