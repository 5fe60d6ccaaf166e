"""Invertible series transforms, fitted on the training part only.

The forward transform of a series y (N, C) is, in order:

    log:        u_t = log(y_t)                       (only for y > 0)
    difference: v_t = u_t - u_{t-d}                  (lag d; drops the first d steps)
    scale:      z_t = (v_t - mean) / std             (mean, std from the training part)

and the inverse of a forecast z_{N+1..N+H} given the history y_{1..N}:

    v = z * std + mean
    u_{N+h} = v_{N+h} + u_{N+h-d}                    (recursively, from the history)
    y = exp(u)

Every step is monotone for d = 0, so quantiles (interval bounds) map through exactly;
with differencing the bounds are mapped as if the steps were perfectly correlated
(an approximation, documented in docs/forecasting.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.errors import DataError

__all__ = ["LOG_CHOICES", "SeriesTransform"]

LOG_CHOICES = ("auto", "on", "off")


@dataclass
class SeriesTransform:
    """log -> lag-``diff`` difference -> standard scaling, with statistics per column."""

    log: bool
    diff: int
    mean: np.ndarray  # (C,)
    std: np.ndarray  # (C,)

    @classmethod
    def fit(
        cls, train: np.ndarray, log: str = "auto", diff: int = 0, where: str = "series"
    ) -> SeriesTransform:
        """Fit on ``train`` (N, C). ``log``: auto (log when every value is > 0), on or off."""
        if log not in LOG_CHOICES:
            raise DataError(f"--log must be one of {', '.join(LOG_CHOICES)}, got {log!r}")
        if diff < 0:
            raise DataError(f"--diff must be >= 0, got {diff}")
        positive = bool(np.all(train > 0))
        if log == "on" and not positive:
            raise DataError(
                f"{where}: --log on needs every training value > 0, got a minimum of {train.min():g}"
            )
        if train.shape[0] <= diff + 1:
            raise DataError(
                f"{where}: {train.shape[0]} training points are too few for --diff {diff}"
            )
        use_log = log == "on" or (log == "auto" and positive)
        v = _difference(np.log(train) if use_log else train, diff)  # (N - d, C)
        std = v.std(axis=0)
        return cls(use_log, diff, v.mean(axis=0), np.where(std > 1e-12, std, 1.0))

    def transform(self, y: np.ndarray) -> np.ndarray:
        """(N, C) -> (N - diff, C)."""
        u = np.log(y) if self.log else y
        return (_difference(u, self.diff) - self.mean) / self.std

    def inverse(self, z: np.ndarray, history: np.ndarray) -> np.ndarray:
        """Forecast z (H, C) in transformed units -> original units, given history (N, C)."""
        v = z * self.std + self.mean  # (H, C)
        if self.diff:
            u_hist = np.log(history) if self.log else history
            u = np.concatenate([u_hist[-self.diff :], np.zeros_like(v)])  # (d + H, C)
            for h in range(v.shape[0]):
                u[self.diff + h] = v[h] + u[h]
            v = u[self.diff :]
        return np.exp(v) if self.log else v

    def to_dict(self) -> dict:
        return {
            "log": self.log,
            "diff": self.diff,
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> SeriesTransform:
        return cls(
            bool(d["log"]),
            int(d["diff"]),
            np.asarray(d["mean"], float),
            np.asarray(d["std"], float),
        )


def _difference(u: np.ndarray, d: int) -> np.ndarray:
    return u[d:] - u[:-d] if d else u
