"""Variational recurrent dropout (Gal & Ghahramani 2016).

One Bernoulli mask per sequence (per layer and direction), drawn once and reused at
every time step, multiplies the state that enters the recurrent weights::

    d ~ Bernoulli(1 − p)^{B×H} / (1 − p)        (once per call, training mode only)
    LSTM:  gates_t = W_ih x_t + b_ih + W_hh (d ⊙ h_{t−1}) + b_hh      (same d for all gates)
    GRU:   b = W_hh (d ⊙ h_{t−1}) + b_hh;   h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}   (undropped h)
    RNN:   h_t = act(W_ih x_t + b_ih + W_hh (d ⊙ h_{t−1}) + b_hh)

Inverted scaling keeps E[d ⊙ h] = h, so evaluation uses d = 1 (no dropout). The
state carried to the next step and returned is never masked. p = 0 is the plain layer.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["recurrent_mask"]


def recurrent_mask(like: Tensor, p: float, training: bool) -> Tensor | None:
    """The per-sequence mask d (B, H) shaped like ``like``, or None when it is all ones."""
    if p == 0 or not training:
        return None
    return torch.empty_like(like).bernoulli_(1.0 - p).div_(1.0 - p)  # (B, H)
