"""Outputs of a forecast run: the metrics table, forecast.csv and forecast.png."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.tasks.forecast.metrics import METRICS
from rnnkit.training.atomic import atomic_write_with
from rnnkit.training.plots import save_figure

__all__ = ["PNG_SIZE", "format_table", "mean_metrics", "plot_forecast", "write_forecast_csv"]

# forecast.png is PNG_SIZE[0] pixels wide and PNG_SIZE[1] per series (up to 4 panels).
PNG_SIZE = (1000, 320)
_DPI = 100


def mean_metrics(rows: Sequence[dict]) -> dict:
    """Metric-wise mean over series/targets/folds, ignoring None; None if all are None."""
    out = {}
    for key in METRICS:
        vals = [r[key] for r in rows if r.get(key) is not None]
        out[key] = float(np.mean(vals)) if vals else None
    return out


def _number(v: float) -> str:
    """Three decimals; below 0.0005 (an error in tiny units, 1e-20) three significant digits, not 0.000."""
    return f"{v:.3f}" if v == 0 or abs(v) >= 5e-4 or not np.isfinite(v) else f"{v:.3g}"


def format_table(metrics: dict, title: str | None = None) -> str:
    """Plain aligned table: model first, then each baseline, one column per metric."""
    head = ["", "MAE", "RMSE", "MAPE%", "sMAPE%", "MASE", "coverage"]
    rows = [("model", metrics["model"])] + list(metrics["baselines"].items())
    cells = [head] + [
        [name] + ["-" if m.get(k) is None else _number(m[k]) for k in METRICS] for name, m in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    lines = [
        "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in cells
    ]
    return "\n".join(([title] if title else []) + lines)


def write_forecast_csv(path: Path, frame: pd.DataFrame) -> None:
    """Floats are written with full precision so that predict's output compares exactly."""
    atomic_write_with(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.17g"))


def plot_forecast(path: Path, panels: list[dict], interval: float | None) -> Path:
    """One panel per series/target: history, actuals, forecast and the interval band.

    Each panel dict has ``title``, ``history_time``, ``history``, ``time``, ``actual``,
    ``forecast`` and optionally ``lower``/``upper``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = panels[:4]
    w, h = PNG_SIZE
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(w / _DPI, h * len(panels) / _DPI), dpi=_DPI, squeeze=False
    )
    for ax, p in zip(axes[:, 0], panels):
        ax.plot(p["history_time"], p["history"], color="0.35", lw=1.2, label="history")
        if p.get("lower") is not None:
            label = f"{int(round(interval * 100))}% interval" if interval else "interval"
            ax.fill_between(
                p["time"], p["lower"], p["upper"], color="tab:blue", alpha=0.25, lw=0, label=label
            )
        if p.get("actual") is not None:
            ax.plot(p["time"], p["actual"], color="black", lw=1.4, marker=".", label="actual")
        ax.plot(p["time"], p["forecast"], color="tab:blue", lw=1.8, label="forecast")
        ax.set_title(p["title"], fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=_DPI)  # no bbox_inches="tight": the size stays PNG_SIZE
