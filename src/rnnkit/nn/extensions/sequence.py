"""The readable plain-autograd loop of a layer-direction with extensions.

One function covers LSTM, GRU and the Elman RNN with any mix of layer norm,
recurrent dropout, zoneout and a custom nonlinearity; see :mod:`.layernorm`,
:mod:`.recurrent_dropout` and :mod:`.zoneout` for the equations. Per step t::

    h_in = d ⊙ h_{t−1}                          (recurrent dropout; d = 1 when off)
    (h̃_t, c̃_t) = cell(x_t, h_in, c_{t−1})      (layer-normalised when asked)
    h_t = m^h_t ⊙ h_{t−1} + (1 − m^h_t) ⊙ h̃_t   (zoneout; m = 0 when off), same for c

The input projection of all T steps (and its layer norm) is computed before the loop.
``batch_sizes`` gives torch's packed-sequence hold semantics, as in
``rnnkit.nn.functional``: at step t only rows ``[:batch_sizes[t]]`` update, the others
keep their state and output 0. With every extension off the numbers equal the plain
layer's (same operations in the same order as ``rnnkit.nn.functional``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn.extensions.layernorm import layer_norm, ln_lstm_step
from rnnkit.nn.extensions.options import Extensions
from rnnkit.nn.extensions.recurrent_dropout import recurrent_mask
from rnnkit.nn.extensions.zoneout import zoneout_masks, zoneout_mix

__all__ = ["activation", "input_part", "make_step", "extended_sequence"]


def activation(nonlinearity: str | Callable) -> Callable[[Tensor], Tensor]:
    if nonlinearity == "tanh":
        return torch.tanh
    if nonlinearity == "relu":
        return torch.relu
    return nonlinearity


def _sum(a: Tensor | None, b: Tensor | None) -> Tensor | None:
    return b if a is None else a if b is None else a + b


def input_part(mode: str, x: Tensor, w_ih: Tensor, b_ih, b_hh, ln: dict | None,
               eps: float) -> Tensor:
    """The recurrence-free part of the gates for all steps: (T, B, I) -> (T, B, G·H)."""
    if ln is None:
        return F.linear(x, w_ih, b_ih if mode == "GRU" else _sum(b_ih, b_hh))
    ax = layer_norm(F.linear(x, w_ih), ln["ln_gain_ih"], ln["ln_bias_ih"], eps)  # (T, B, G·H)
    bias = b_ih if mode == "GRU" else _sum(b_ih, b_hh)
    return ax if bias is None else ax + bias


def make_step(mode: str, w_hh: Tensor, b_hh, ln: dict | None, ext: Extensions):
    """step(ax_t, h_in, *states) -> new states before zoneout; h_in = d ⊙ h_{t−1}."""
    if mode == "LSTM":
        if ln is not None:
            return lambda ax, h_in, h, c: ln_lstm_step(ax, h_in, c, w_hh, ln, ext.eps)

        def lstm(ax, h_in, h, c):
            i, f, g, o = torch.addmm(ax, h_in, w_hh.t()).chunk(4, dim=-1)  # 4 × (B, H)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(c_new), c_new
        return lstm
    if mode == "GRU":
        def gru(ax, h_in, h):
            if ln is None:
                bh = F.linear(h_in, w_hh, b_hh)  # (B, 3H)
            else:
                bh = layer_norm(h_in @ w_hh.t(), ln["ln_gain_hh"], ln["ln_bias_hh"], ext.eps)
                bh = bh if b_hh is None else bh + b_hh
            a_r, a_z, a_n = ax.chunk(3, dim=-1)
            b_r, b_z, b_n = bh.chunk(3, dim=-1)
            r = torch.sigmoid(a_r + b_r)
            z = torch.sigmoid(a_z + b_z)
            n = torch.tanh(a_n + r * b_n)
            return (n + z * (h - n),)  # (B, H)
        return gru
    act = activation(ext.nonlinearity)
    return lambda ax, h_in, h: (act(torch.addmm(ax, h_in, w_hh.t())),)


def extended_sequence(mode: str, x: Tensor, states: tuple, w_ih: Tensor, w_hh: Tensor,
                      b_ih: Tensor | None, b_hh: Tensor | None, ln: dict | None,
                      ext: Extensions, training: bool,
                      batch_sizes: Sequence[int] | None = None, reverse: bool = False):
    """One layer-direction: x (T, B, I), states tuple of (B, H) -> y (T, B, H), states.

    ``mode`` is "LSTM", "GRU", "RNN_TANH" or "RNN_RELU" (the Elman RNN uses
    ``ext.nonlinearity``); ``ln`` holds the layer-norm parameters or is None.
    """
    T, B = x.shape[:2]
    ax_steps = input_part(mode, x, w_ih, b_ih, b_hh, ln, ext.eps).unbind(0)  # T × (B, G·H)
    step = make_step(mode, w_hh, b_hh, ln, ext)
    d = recurrent_mask(states[0], ext.recurrent_dropout, training)  # (B, H) or None
    zone = [zoneout_masks(s, T, ext.zoneout, training) for s in states]  # per state
    ys: list[Tensor | None] = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        n = B if batch_sizes is None else int(batch_sizes[t])
        old = states if n == B else tuple(s[:n] for s in states)
        h_in = old[0] if d is None else old[0] * d[:n]
        new = step(ax_steps[t][:n], h_in, *old)
        new = tuple(nw if m is None else zoneout_mix(m if isinstance(m, float) else m[t, :n], o, nw)
                    for m, o, nw in zip(zone, old, new))
        if n == B:
            states = new
            ys[t] = new[0]
        else:  # rows n: have ended (or, walking backwards, not yet begun): hold them
            ys[t] = F.pad(new[0], (0, 0, 0, B - n))  # (B, H), zeros below row n
            states = tuple(torch.cat([a, s[n:]]) for a, s in zip(new, states))
    return torch.stack(ys), states  # (T, B, H)
