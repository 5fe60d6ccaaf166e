"""The one place task models get their recurrent layers from: ``rnnkit.nn``.

``rnnkit.nn`` layers are drop-in ``torch.nn`` replacements (same arguments, same
``state_dict`` names, same RNG use), so a model built here loads torch.nn weights and
the same seed gives the same initial weights. ``LAYERS_FROM`` names the source.
"""
from __future__ import annotations

import torch

from rnnkit.errors import ConfigError
from rnnkit.nn import GRU, LSTM, RNN

LAYERS_FROM = "rnnkit.nn"

__all__ = ["RNN", "LSTM", "GRU", "LAYERS_FROM", "recurrent_layer"]

_CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def recurrent_layer(cell: str, input_size: int, hidden_size: int, **kwargs) -> torch.nn.Module:
    """``recurrent_layer("lstm", 3, 16, num_layers=2)`` -> an ``LSTM``; cell is rnn, lstm or gru."""
    try:
        cls = _CELLS[cell]
    except KeyError:
        raise ConfigError(f"model.cell must be one of {sorted(_CELLS)}, got {cell!r}") from None
    return cls(input_size, hidden_size, **kwargs)
