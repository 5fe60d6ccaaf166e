"""The model the diagnostics train: one rnnkit recurrent layer and a linear readout.

    Y = layer(x)                      (B, T, D·H)   the layer's outputs h_t (top layer)
    pred = W_hy Y[:, -1] + b_y        (B, O)        many-to-one (adding, digits)
    pred = W_hy Y + b_y               (B, T, O)     many-to-many (copy)

``cell`` is "rnn" (Elman, tanh), "lstm", "gru" or "mingru", always ``batch_first``.
:func:`save` writes ``model.safetensors`` and ``model.json`` (the registry's tags, ``task``
"diagnose" and ``format``, then the constructor arguments with the long-memory problem
under ``problem``, and T, so ``rnnkit diagnose --model DIR`` can regenerate the model's own data);
:func:`load` reads them back.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from rnnkit.diagnostics.problems import problem
from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.nn import GRU, LSTM, RNN, MinGRU

__all__ = ["CELLS", "TaskModel", "build_layer", "save", "load"]

CELLS = ("rnn", "lstm", "gru", "mingru")
_LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU, "mingru": MinGRU}


def build_layer(cell: str, input_size: int, hidden_size: int, num_layers: int = 1) -> nn.Module:
    """A batch-first rnnkit.nn layer: ``build_layer("gru", 2, 32)``."""
    if cell not in _LAYERS:
        raise ConfigError(f"cell: expected one of {', '.join(CELLS)}, got {cell!r}")
    return _LAYERS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True)


class TaskModel(nn.Module):
    """A recurrent layer (``self.rnn``) plus a linear readout (``self.head``) for ``task``."""

    def __init__(self, task: str, cell: str, hidden_size: int, num_layers: int = 1) -> None:
        super().__init__()
        spec = problem(task)
        self.config = dict(task=task, cell=cell, hidden_size=hidden_size, num_layers=num_layers)
        self.task, self.cell, self.every_step = task, cell, spec.every_step
        self.rnn = build_layer(cell, spec.input_size, hidden_size, num_layers)
        self.head = nn.Linear(hidden_size, spec.output_size)

    def readout(self, Y: Tensor) -> Tensor:
        """Predictions from the layer's outputs Y (B, T, H)."""
        return self.head(Y if self.every_step else Y[:, -1])  # (B, T, O) or (B, O)

    def forward(self, x: Tensor) -> Tensor:
        Y, _ = self.rnn(x)  # (B, T, H)
        return self.readout(Y)

    def compute_loss(self, batch: tuple[Tensor, Tensor]) -> Tensor:
        """The task's loss on a batch (x, y); see rnnkit.diagnostics.problems."""
        x, y = batch
        return problem(self.task).loss(self(x), y)


def save(dir: str | Path, model: TaskModel, T: int) -> None:
    """Write the model folder (atomic; see rnnkit.training.checkpoint)."""
    from rnnkit.training.checkpoint import save_model

    from rnnkit.models.registry import tagged

    problem_name, rest = model.config["task"], {k: v for k, v in model.config.items() if k != "task"}
    save_model(dir, model, tagged("diagnose", {"problem": problem_name, **rest, "T": int(T)}))


def load(dir: str | Path) -> tuple[TaskModel, dict]:
    """Rebuild a saved :class:`TaskModel`; returns (model, its model.json)."""
    from rnnkit.training.checkpoint import load_model

    def build(cfg: dict) -> TaskModel:
        needed = ("problem", "cell", "hidden_size", "num_layers", "T")
        missing = [k for k in needed if k not in cfg]
        if cfg.get("task") != "diagnose" or missing:
            raise CheckpointError(
                f"{str(Path(dir) / 'model.json')!r} is not a diagnostics model: "
                + (f"missing {', '.join(missing)}" if missing else f"its task is {cfg.get('task')!r}")
            )
        return TaskModel(cfg["problem"], cfg["cell"], cfg["hidden_size"], cfg["num_layers"])

    model, cfg = load_model(dir, build)
    return model.to(torch.get_default_dtype()), cfg
