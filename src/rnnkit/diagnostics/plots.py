"""The two pictures of a sweep (matplotlib, Agg backend: no display needed).

- ``gradient_flow.png``: for each cell (columns), ‖∂L/∂h_t‖ / ‖∂L/∂h_T‖ against t on a
  log scale, one line per T, at initialisation (top row) and after training (bottom
  row); the dotted line is the span threshold ``fraction``.
- ``accuracy_vs_T.png``: the held-out score against T per cell (relative MSE on a log
  scale for the adding problem, accuracy otherwise); filled markers = solved; the
  dashed line is the threshold for "solved".
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.diagnostics.problems import problem

__all__ = ["plot_gradient_flow", "plot_accuracy"]

_NAMES = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU", "mingru": "MinGRU"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _relative(norms: np.ndarray) -> np.ndarray:
    ref = norms[-1] if norms[-1] > 0 else 1.0
    rel = norms / ref
    return np.where(rel > 0, rel, np.nan)  # log scale: exact zeros are not drawn


def plot_gradient_flow(results: list, path: str | Path, fraction: float = 0.01) -> Path:
    """Plot the curves of :class:`~rnnkit.diagnostics.sweep.RunResult` s to ``path``."""
    plt = _pyplot()
    cells = list(dict.fromkeys(r.cell for r in results))
    lengths = sorted({r.T for r in results})
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, max(len(lengths), 1)))
    fig, axes = plt.subplots(2, len(cells), figsize=(3.6 * len(cells), 6.4), dpi=100,
                             sharex=True, sharey=True, squeeze=False)
    for col, cell in enumerate(cells):
        for row, attr in enumerate(("norms_before", "norms_after")):
            ax = axes[row][col]
            for r in results:
                if r.cell != cell:
                    continue
                norms = getattr(r, attr)
                t = np.arange(1, len(norms) + 1)
                ax.plot(t, _relative(norms), color=colours[lengths.index(r.T)], lw=1.4,
                        label=f"T={r.T}")
            ax.set_yscale("log")
            ax.axhline(fraction, color="grey", ls=":", lw=1)
            ax.grid(True, alpha=0.3, which="major")
            if row == 0:
                ax.set_title(_NAMES.get(cell, cell))
            else:
                ax.set_xlabel("time step t (loss at t = T)")
    low = min((np.nanmin(_relative(getattr(r, a))) for r in results
               for a in ("norms_before", "norms_after")), default=1e-3)
    high = max((np.nanmax(_relative(getattr(r, a))) for r in results
                for a in ("norms_before", "norms_after")), default=1.0)
    axes[0][0].set_ylim(bottom=max(low, 1e-300) / 3, top=max(high, 1.0) * 3)  # shared axes
    axes[0][0].set_ylabel("at initialisation\n‖∂L/∂h_t‖ / ‖∂L/∂h_T‖")
    axes[1][0].set_ylabel("after training\n‖∂L/∂h_t‖ / ‖∂L/∂h_T‖")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    fig.suptitle("How much gradient reaches step t (layer 0)")
    fig.tight_layout()
    return _save(fig, plt, path)


def plot_accuracy(results: list, path: str | Path, task: str) -> Path:
    """Plot held-out score against T per cell to ``path``."""
    plt = _pyplot()
    spec = problem(task)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for cell in dict.fromkeys(r.cell for r in results):
        rows = sorted((r for r in results if r.cell == cell), key=lambda r: r.T)
        Ts = [r.T for r in rows]
        line, = ax.plot(Ts, [r.score for r in rows], lw=1.2, label=_NAMES.get(cell, cell))
        for r in rows:
            ax.plot([r.T], [r.score], "o", color=line.get_color(),
                    markerfacecolor=line.get_color() if r.solved else "white")
    ax.axhline(spec.threshold, color="grey", ls="--", lw=1, label="solved threshold")
    if spec.metric == "relative_mse":
        ax.set_yscale("log")
        ax.set_ylabel("held-out MSE / MSE of predicting the mean")
    else:
        ax.set_ylabel("held-out accuracy")
        ax.set_ylim(-0.02, 1.02)
    ax.set_xscale("log")
    Ts = sorted({r.T for r in results})
    ax.set_xticks(Ts)
    ax.set_xticklabels([str(T) for T in Ts])
    ax.minorticks_off()
    ax.set_xlabel("sequence length T")
    ax.set_title(f"{task}: filled markers solved the task")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, plt, path)


def _save(fig, plt, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
