"""Helpers for the tests of the Forecaster's combination partners (Theta, damped trend)."""

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
