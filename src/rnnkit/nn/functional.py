"""Plain-autograd recurrences: one step (the cells) and one layer-direction (the loops).

This is the readable definition of the "rnnkit" path; ``rnnkit.nn.bptt`` holds faster
versions with the same signatures and the same numbers. Autograd differentiates these
loops, so double backward works.

Symbols: x_t (B, I) input, h_t (B, H_out) hidden state, c_t (B, H) cell state,
W_ih (G·H, I), W_hh (G·H, H_out), b_ih, b_hh (G·H,), W_hr (H_out, H); σ the logistic
sigmoid, ⊙ the elementwise product.

LSTM (gates i, f, g, o)::

    i, f, g, o = split(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g)
    h_t = σ(o) ⊙ tanh(c_t)                  (then h_t = W_hr h_t when projected)

GRU (gates r, z, n; r sits inside n, as in torch)::

    r = σ(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
    z = σ(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
    n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t-1} + b_hn))
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}  =  n + z ⊙ (h_{t-1} - n)

RNN::

    h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh),  act = tanh or relu

Sequence functions take ``x`` (T, B, I) time-major and return ``y`` (T, B, H_out).
The input projection of all T steps is one GEMM before the loop. ``batch_sizes`` (a list
of T non-increasing ints, as in a PackedSequence) makes only rows ``[:batch_sizes[t]]``
update at step t; the other rows keep their state and output 0. ``reverse=True`` walks
t = T-1 … 0.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "lstm_cell",
    "gru_cell",
    "rnn_cell",
    "lstm_sequence",
    "gru_sequence",
    "rnn_sequence",
]


def _activation(nonlinearity: str):
    if nonlinearity == "tanh":
        return torch.tanh
    if nonlinearity == "relu":
        return torch.relu
    raise RuntimeError(f"Unknown nonlinearity: {nonlinearity}")


def _bias_sum(bias_ih: Tensor | None, bias_hh: Tensor | None) -> Tensor | None:
    if bias_ih is None:
        return bias_hh
    if bias_hh is None:
        return bias_ih
    return bias_ih + bias_hh


# ---------------------------------------------------------------- single steps
def _lstm_step(gates_x, h, c, weight_hh, weight_hr):
    """One LSTM step from the input part of the gates (B, 4H) and the state."""
    gates = torch.addmm(gates_x, h, weight_hh.t())  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)  # 4 × (B, H)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
    h_new = torch.sigmoid(o) * torch.tanh(c_new)  # (B, H)
    if weight_hr is not None:
        h_new = h_new @ weight_hr.t()  # (B, H_out)
    return h_new, c_new


def _gru_step(gates_x, h, weight_hh, bias_hh):
    """One GRU step from W_ih x_t + b_ih (B, 3H) and the state."""
    gates_h = F.linear(h, weight_hh, bias_hh)  # (B, 3H)
    x_r, x_z, x_n = gates_x.chunk(3, dim=-1)  # 3 × (B, H)
    h_r, h_z, h_n = gates_h.chunk(3, dim=-1)  # 3 × (B, H)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return n + z * (h - n)  # (B, H)


def _rnn_step(gates_x, h, weight_hh, act):
    return act(torch.addmm(gates_x, h, weight_hh.t()))  # (B, H)


def lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One LSTM step: x (B, I), h and c (B, H) -> (h', c')."""
    return _lstm_step(F.linear(x, weight_ih, _bias_sum(bias_ih, bias_hh)), h, c, weight_hh, None)


def gru_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """One GRU step: x (B, I), h (B, H) -> h'."""
    return _gru_step(F.linear(x, weight_ih, bias_ih), h, weight_hh, bias_hh)


def rnn_cell(x, h, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """One Elman step: x (B, I), h (B, H) -> h'."""
    act = _activation(nonlinearity)
    return _rnn_step(F.linear(x, weight_ih, _bias_sum(bias_ih, bias_hh)), h, weight_hh, act)


# ---------------------------------------------------------------- time loops
def _scan(step, gates_x: Tensor, states: tuple, batch_sizes, reverse: bool):
    """Run ``step(gates_x_t, *states) -> states'`` over time with hold semantics.

    ``gates_x`` (T, B, G·H); ``states`` tuple of (B, ·), the first one being the output.
    Returns y (T, B, H_out) and the final states.
    """
    T, B = gates_x.shape[:2]
    steps = gates_x.unbind(0)  # T × (B, G·H)
    ys: list[Tensor | None] = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        n = B if batch_sizes is None else int(batch_sizes[t])
        if n == B:
            states = step(steps[t], *states)
            ys[t] = states[0]
        else:  # rows n: have ended (or, walking backwards, not yet begun): hold them
            active = step(steps[t][:n], *(s[:n] for s in states))
            ys[t] = F.pad(active[0], (0, 0, 0, B - n))  # (B, H_out), zeros below row n
            states = tuple(torch.cat([a, s[n:]]) for a, s in zip(active, states))
    return torch.stack(ys), states  # (T, B, H_out)


def lstm_sequence(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    weight_hr: Tensor | None = None,
    batch_sizes: Sequence[int] | None = None,
    reverse: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """One LSTM layer-direction: x (T, B, I) -> y (T, B, H_out), h_n (B, H_out), c_n (B, H)."""
    gates_x = F.linear(x, weight_ih, _bias_sum(bias_ih, bias_hh))  # (T, B, 4H)

    def step(g, h, c):
        return _lstm_step(g, h, c, weight_hh, weight_hr)

    y, (h_n, c_n) = _scan(step, gates_x, (h0, c0), batch_sizes, reverse)
    return y, h_n, c_n


def gru_sequence(
    x: Tensor,
    h0: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    batch_sizes: Sequence[int] | None = None,
    reverse: bool = False,
) -> tuple[Tensor, Tensor]:
    """One GRU layer-direction: x (T, B, I) -> y (T, B, H), h_n (B, H)."""
    gates_x = F.linear(x, weight_ih, bias_ih)  # (T, B, 3H)

    def step(g, h):
        return (_gru_step(g, h, weight_hh, bias_hh),)

    y, (h_n,) = _scan(step, gates_x, (h0,), batch_sizes, reverse)
    return y, h_n


def rnn_sequence(
    x: Tensor,
    h0: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    nonlinearity: str = "tanh",
    batch_sizes: Sequence[int] | None = None,
    reverse: bool = False,
) -> tuple[Tensor, Tensor]:
    """One Elman layer-direction: x (T, B, I) -> y (T, B, H), h_n (B, H)."""
    act = _activation(nonlinearity)
    gates_x = F.linear(x, weight_ih, _bias_sum(bias_ih, bias_hh))  # (T, B, H)

    def step(g, h):
        return (_rnn_step(g, h, weight_hh, act),)

    y, (h_n,) = _scan(step, gates_x, (h0,), batch_sizes, reverse)
    return y, h_n
