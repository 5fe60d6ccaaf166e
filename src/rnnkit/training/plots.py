"""The loss curve of a run as a PNG (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

from pathlib import Path

from rnnkit.training.atomic import atomic_write_with

__all__ = ["plot_loss"]


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
    atomic_write_with(path, fig.savefig)
    plt.close(fig)
    return path
