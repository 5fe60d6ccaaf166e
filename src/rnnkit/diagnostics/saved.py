"""Gradient flow of a saved diagnostics model on its own task's data (``--model DIR``).

The folder is one that :func:`rnnkit.diagnostics.sweep.diagnose` wrote
(``models/<cell>-T<T>``: model.safetensors and model.json with the problem and T); the data
is a fresh held-out draw of that problem at that T.
"""
from __future__ import annotations

from pathlib import Path

from rnnkit.diagnostics.flow import gradient_flow, in_float64
from rnnkit.diagnostics.model import load
from rnnkit.diagnostics.problems import problem
from rnnkit.errors import ConfigError
from rnnkit.training.atomic import write_json

__all__ = ["inspect_model", "plot_model_flow"]

FLOW_BATCH = 64


def inspect_model(dir: str | Path, out: str | Path, *, loss: str = "auto", seed: int = 0,
                  fraction: float = 0.01) -> dict:
    """Measure, plot to ``out``/model_gradient_flow.png and return a JSON-ready dict."""
    if loss not in ("auto", "last", "every"):
        raise ConfigError(f"--loss: expected auto, last or every, got {loss!r}")
    model, cfg = load(dir)
    model.eval()
    spec = problem(cfg["problem"])
    x, y = spec.held_out(FLOW_BATCH, cfg["T"], seed=seed + 2 * 10**6)
    flow = gradient_flow(*in_float64(model, (x[:FLOW_BATCH], y[:FLOW_BATCH])), loss=loss,
                         fraction=fraction)  # float64: vanishing gradients do not underflow
    out = Path(out)
    plot = plot_model_flow(flow, out / "model_gradient_flow.png",
                           title=f"{cfg['cell']} on {cfg['problem']}, T={cfg['T']} ({Path(dir).name})")
    result = {"model": str(dir), "task": cfg["problem"], "cell": cfg["cell"], "T": cfg["T"],
              "loss": flow.loss, "effective_span": flow.spans,
              "norms": {k: [float(v) for v in n] for k, n in flow.norms.items()}, "plot": str(plot)}
    write_json(out / "model_gradient_flow.json", result)
    return result


def plot_model_flow(flow, path: str | Path, title: str) -> Path:
    """log ‖∂L/∂h_t‖ against t, one line per layer-direction."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for key, norms in flow.norms.items():
        t = np.arange(1, len(norms) + 1)
        ax.plot(t, np.where(norms > 0, norms, np.nan), lw=1.4,
                label=f"{key} (span {flow.spans[key]})")
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel("‖∂L/∂h_t‖")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
