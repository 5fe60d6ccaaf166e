"""Task models: forward and loss only (``compute_loss(batch)``); they never import the trainer.

- :class:`RecurrentModel`: any RNN/LSTM/GRU stack with a many-to-one (last valid step
  or masked mean) or many-to-many head.
- :class:`SimpleRNN`, :class:`SequenceRNN`: the tutorial's models, state_dict-compatible.
"""
from __future__ import annotations

from rnnkit.models.layers import LAYERS_FROM, recurrent_layer
from rnnkit.models.recurrent import RecurrentModel
from rnnkit.models.tutorial import SequenceRNN, SimpleRNN

__all__ = ["RecurrentModel", "SimpleRNN", "SequenceRNN", "recurrent_layer", "LAYERS_FROM"]
