"""Shared helpers for the reference tests: build a layer and its torch.nn twin."""
from __future__ import annotations

from rnnkit.reference import GRU, LSTM, RNN

# (id, reference class, torch class name, extra kwargs) for every recurrent kind.
KINDS = [
    ("rnn_tanh", RNN, "RNN", {"nonlinearity": "tanh"}),
    ("rnn_relu", RNN, "RNN", {"nonlinearity": "relu"}),
    ("lstm", LSTM, "LSTM", {}),
    ("gru", GRU, "GRU", {}),
]
KIND_IDS = [k[0] for k in KINDS]


def make_layer(kind, input_size=3, hidden_size=4, num_layers=1, bias=True, seed=0):
    _, cls, _, kwargs = kind
    return cls(input_size, hidden_size, num_layers=num_layers, bias=bias, seed=seed, **kwargs)


def random_state(layer, batch, rng):
    """A random initial state in the layer's format: h0, or (h0, c0) for the LSTM."""
    shape = (layer.num_layers, batch, layer.hidden_size)
    states = tuple(rng.standard_normal(shape) * 0.5 for _ in layer.state_names)
    return states[0] if len(states) == 1 else states


def as_tuple(state):
    return state if isinstance(state, tuple) else (state,)
