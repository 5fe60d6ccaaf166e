"""The one layer factory: every task model gets its recurrent layers here, from ``rnnkit.nn``.

``rnnkit.nn`` layers are drop-in ``torch.nn`` replacements (same arguments, same
``state_dict`` names, same RNG use), so a model built here loads torch.nn weights and
the same seed gives the same initial weights. ``backend`` picks the time loop:
``"rnnkit"`` (the hand-written BPTT), ``"torch"`` (torch's fused kernel) or ``"auto"``
(rnnkit.nn's rule). ``LAYERS_FROM`` names the source.
"""
from __future__ import annotations

import torch

from rnnkit.errors import ConfigError
from rnnkit.nn import GRU, LSTM, RNN

LAYERS_FROM = "rnnkit.nn"
CELLS = ("lstm", "gru", "rnn")
BACKENDS = ("auto", "rnnkit", "torch")

__all__ = ["RNN", "LSTM", "GRU", "LAYERS_FROM", "CELLS", "BACKENDS", "recurrent_layer"]

_CLASSES = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def recurrent_layer(cell: str, input_size: int, hidden_size: int, *, backend: str = "auto",
                    **kwargs) -> torch.nn.Module:
    """``recurrent_layer("lstm", 3, 16, num_layers=2)`` -> an ``rnnkit.nn.LSTM``.

    ``cell`` is lstm, gru or rnn; ``backend`` auto, rnnkit or torch; other keywords go to
    the layer (num_layers, batch_first, bidirectional, dropout, nonlinearity, ...).
    """
    if cell not in CELLS:
        raise ConfigError(f"model.cell must be one of {', '.join(CELLS)}, got {cell!r}")
    if backend not in BACKENDS:
        raise ConfigError(f"model.backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    return _CLASSES[cell](input_size, hidden_size, backend=backend, **kwargs)
