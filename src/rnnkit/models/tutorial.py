"""The tutorial's ``SimpleRNN`` and ``SequenceRNN``, with its structure and parameter names.

Both are one RNN layer (tanh) read at the last step by a linear layer::

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),   h_0 = 0
    y   = W_fc h_T + b_fc

Parameters are named ``rnn.weight_ih_l0``, ``rnn.weight_hh_l0``, ``rnn.bias_ih_l0``,
``rnn.bias_hh_l0``, ``fc.weight``, ``fc.bias``, exactly as in the tutorial's classes,
so a ``state_dict`` saved from them loads here unchanged. Submodules are created in
the tutorial's order (rnn, then fc), so the same seed gives the same initial weights.

Shapes: x (B, T, I) -> y (B, O).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.models.layers import RNN

__all__ = ["SimpleRNN", "SequenceRNN"]


class SimpleRNN(nn.Module):
    """One tanh RNN layer and a linear read-out of the last step (the tutorial's model)."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.model_config = dict(input_size=input_size, hidden_size=hidden_size, output_size=output_size)
        self.rnn = RNN(input_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, output_size)

    @classmethod
    def from_config(cls, config: dict) -> "SimpleRNN":
        return cls(**config)

    def forward(self, x: Tensor) -> Tensor:
        h0 = torch.zeros(1, x.size(0), self.hidden_size, device=x.device, dtype=x.dtype)  # (1, B, H)
        out, _ = self.rnn(x, h0)  # (B, T, H)
        return self.fc(out[:, -1, :])  # (B, O)

    def compute_loss(self, batch) -> Tensor:
        """Mean squared error on a batch ``(x, y)``; y is (B, O)."""
        x, y = batch
        return F.mse_loss(self(x), y)


class SequenceRNN(SimpleRNN):
    """The exercise's next-number model; the same structure as :class:`SimpleRNN`."""
