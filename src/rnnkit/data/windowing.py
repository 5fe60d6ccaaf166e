"""Sliding windows over a (transformed) series for direct multi-step forecasting.

A window that ends at step e (exclusive) pairs

    past   = features[e - context : e]          (context, F_past)   inputs the model sees
    future = known[e : e + horizon]             (horizon, F_known)  known-future covariates
    target = z[e : e + horizon]                 (horizon, C)        what it must predict

for every e with context <= e <= N - horizon, stepping by ``stride``.
"""

from __future__ import annotations

import numpy as np

from rnnkit.errors import DataError

__all__ = ["check_horizon", "check_lengths", "make_windows"]


def check_horizon(horizon: int, n: int, where: str = "series") -> None:
    """The one horizon check: 1 <= H < n, the number of points of the series ``where``."""
    if horizon < 1:
        raise DataError(f"--horizon must be >= 1, got {horizon}")
    if horizon >= n:
        raise DataError(f"{where}: --horizon {horizon} is longer than the data ({n} points)")


def check_lengths(n: int, context: int, horizon: int, where: str = "series") -> None:
    """One window needs ``context + horizon`` points; a clear error names both if not."""
    check_horizon(horizon, n, where)
    if context + horizon > n:
        raise DataError(
            f"{where}: the input window ({context} steps) plus --horizon {horizon} needs "
            f"{context + horizon} points but the training data has {n}; "
            "pass a smaller --window or --horizon"
        )


def make_windows(
    past: np.ndarray,
    target: np.ndarray,
    context: int,
    horizon: int,
    known: np.ndarray | None = None,
    stride: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(past (N, F_past), target (N, C), known (N, F_known)) -> X, K, Y.

    X (W, context, F_past), K (W, horizon, F_known), Y (W, horizon, C), float32,
    W = number of windows. All inputs share the time axis 0.
    """
    n = past.shape[0]
    if known is None:
        known = np.zeros((n, 0))
    ends = np.arange(context, n - horizon + 1, stride)  # (W,)
    if ends.size == 0:
        return (
            np.zeros((0, context, past.shape[1]), np.float32),
            np.zeros((0, horizon, known.shape[1]), np.float32),
            np.zeros((0, horizon, target.shape[1]), np.float32),
        )
    back = ends[:, None] + np.arange(-context, 0)[None, :]  # (W, context)
    ahead = ends[:, None] + np.arange(horizon)[None, :]  # (W, horizon)
    return (
        past[back].astype(np.float32),  # (W, context, F_past)
        known[ahead].astype(np.float32),  # (W, horizon, F_known)
        target[ahead].astype(np.float32),  # (W, horizon, C)
    )
