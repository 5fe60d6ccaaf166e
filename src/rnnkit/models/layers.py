"""The one place task models get their recurrent layers from.

Models use ``rnnkit.nn`` (drop-in ``torch.nn`` replacements). While ``rnnkit.nn`` is
still being written this falls back to ``torch.nn``: same arguments, same
``state_dict`` names, same RNG use, so nothing else changes when it lands.
``LAYERS_FROM`` says which one is in use.
"""
from __future__ import annotations

import torch

from rnnkit.errors import ConfigError

try:  # pragma: no cover - which branch runs depends on the tree's state
    from rnnkit.nn import GRU, LSTM, RNN

    LAYERS_FROM = "rnnkit.nn"
except ImportError:  # pragma: no cover
    from torch.nn import GRU, LSTM, RNN

    LAYERS_FROM = "torch.nn"

__all__ = ["RNN", "LSTM", "GRU", "LAYERS_FROM", "recurrent_layer"]

_CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def recurrent_layer(cell: str, input_size: int, hidden_size: int, **kwargs) -> torch.nn.Module:
    """``recurrent_layer("lstm", 3, 16, num_layers=2)`` -> an ``LSTM``; cell is rnn, lstm or gru."""
    try:
        cls = _CELLS[cell]
    except KeyError:
        raise ConfigError(f"model.cell must be one of {sorted(_CELLS)}, got {cell!r}") from None
    return cls(input_size, hidden_size, **kwargs)
