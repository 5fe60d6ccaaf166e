"""The loss curve of a run as a PNG (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rnnkit.training.atomic import atomic_write_bytes

__all__ = ["plot_loss", "save_figure"]


def save_figure(fig: Any, path: str | Path, **savefig_kwargs: Any) -> Path:
    """Write a matplotlib figure as PNG atomically (rendered in memory, then one replace)
    and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", **savefig_kwargs)
    plt.close(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, buf.getvalue())
    return path


def plot_loss(history: list[dict], path: str | Path) -> Path:
    """Plot ``train_loss`` (and ``val_loss`` when present) per epoch to ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    epochs = [row["epoch"] for row in history]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    vals = [row.get("val_loss") for row in history]
    if any(v is not None and v == v for v in vals):
        ax.plot(epochs, [float("nan") if v is None else v for v in vals], marker="o", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    positive = [v for row in history for v in (row["train_loss"], row.get("val_loss")) if v]
    if positive and min(positive) > 0 and max(positive) / min(positive) > 100:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return save_figure(fig, path)
