"""Layer-normalised LSTM and GRU steps (Ba, Kiros & Hinton 2016).

LN normalises a vector v (B, N) over its N features, then scales and shifts it:

    LN(v; γ, β) = γ ⊙ (v − μ) / √(σ² + ε) + β,   μ = mean_j v_j,  σ² = mean_j (v_j − μ)²

The input and the recurrent contributions are normalised separately, each with its
own gain and bias, and the LSTM cell state is normalised before its tanh:

LSTM (gates i, f, g, o; σ the sigmoid)::

    i, f, g, o = split( LN(W_ih x_t; γ_ih, β_ih) + LN(W_hh h_{t−1}; γ_hh, β_hh) + b_ih + b_hh )
    c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g)
    h_t = σ(o) ⊙ tanh( LN(c_t; γ_c, β_c) )

GRU (gates r, z, n; r inside n, as in torch)::

    a = LN(W_ih x_t; γ_ih, β_ih) + b_ih,   b = LN(W_hh h_{t−1}; γ_hh, β_hh) + b_hh
    r = σ(a_r + b_r),  z = σ(a_z + b_z),  n = tanh(a_n + r ⊙ b_n)
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

The learnable gains γ start at 1 and the biases β at 0. Parameter names: ``ln_gain_ih``,
``ln_bias_ih`` (G·H), ``ln_gain_hh``, ``ln_bias_hh`` (G·H), and for the LSTM
``ln_gain_c``, ``ln_bias_c`` (H); layers add ``_l{k}`` and ``_reverse`` as torch does.
γ_ih ⊙ … + β_ih and b_ih overlap (both shift the gates); we keep torch's biases so a
``layer_norm=False`` state_dict still loads, and the paper's β for clarity.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["LN_NAMES", "ln_shapes", "layer_norm", "ln_lstm_step", "ln_gru_step"]

LN_NAMES = ("ln_gain_ih", "ln_bias_ih", "ln_gain_hh", "ln_bias_hh", "ln_gain_c", "ln_bias_c")


def ln_shapes(mode: str, hidden_size: int) -> dict[str, int]:
    """Parameter name -> length, for 'LSTM' (G = 4) or 'GRU' (G = 3)."""
    G = {"LSTM": 4, "GRU": 3}[mode]
    shapes = {"ln_gain_ih": G * hidden_size, "ln_bias_ih": G * hidden_size,
              "ln_gain_hh": G * hidden_size, "ln_bias_hh": G * hidden_size}
    if mode == "LSTM":
        shapes.update(ln_gain_c=hidden_size, ln_bias_c=hidden_size)
    return shapes


def layer_norm(v: Tensor, gain: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """LN over the last dimension: (…, N) -> (…, N)."""
    return F.layer_norm(v, v.shape[-1:], gain, bias, eps)


def ln_lstm_step(ax: Tensor, h: Tensor, c: Tensor, weight_hh: Tensor, ln: dict,
                 eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """One LN-LSTM step; ``ax`` = LN(W_ih x_t) + b_ih + b_hh (B, 4H) is precomputed."""
    gates = ax + layer_norm(h @ weight_hh.t(), ln["ln_gain_hh"], ln["ln_bias_hh"], eps)  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)  # 4 × (B, H)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)  # (B, H)
    h_new = torch.sigmoid(o) * torch.tanh(layer_norm(c_new, ln["ln_gain_c"], ln["ln_bias_c"], eps))
    return h_new, c_new


def ln_gru_step(ax: Tensor, h: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, ln: dict,
                eps: float = 1e-5) -> Tensor:
    """One LN-GRU step; ``ax`` = LN(W_ih x_t) + b_ih (B, 3H) is precomputed."""
    bh = layer_norm(h @ weight_hh.t(), ln["ln_gain_hh"], ln["ln_bias_hh"], eps)  # (B, 3H)
    if bias_hh is not None:
        bh = bh + bias_hh
    a_r, a_z, a_n = ax.chunk(3, dim=-1)
    b_r, b_z, b_n = bh.chunk(3, dim=-1)
    r = torch.sigmoid(a_r + b_r)
    z = torch.sigmoid(a_z + b_z)
    n = torch.tanh(a_n + r * b_n)
    return n + z * (h - n)  # (B, H)
