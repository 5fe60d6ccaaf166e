"""One layer-direction, forward and backward through time, keeping ∂L/∂h_t for every t.

Each cell has a ``forward`` that runs the recurrence from h_0 = 0 (and c_0 = 0) over a
time-major input x (T, B, I), keeping what its backward needs, and a ``backward`` that
takes G (T, B, H), the gradient reaching each output h_t from outside the recurrence
(the loss, or the layer above), and walks ``reversed(range(T))`` carrying the gradient
that h_t receives from step t+1. It returns

    dh (T, B, H):  ∂L/∂h_t = G_t + (∂h_{t+1}/∂h_t)^T ∂L/∂h_{t+1}   (total, for every t)
    dx (T, B, I):  ∂L/∂x_t, the gradient passed to the layer below.

Notation as rnnkit.nn (torch's gate order): a = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh;
σ the sigmoid, ⊙ elementwise; ``da`` is ∂L/∂a. The reverse direction of a
bidirectional layer is the same code on the time-flipped sequence.
These are plain tensor ops under ``torch.no_grad``: autograd never sees them, so the
test against ``torch.autograd.grad`` on retained hidden states is an independent check.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["forward", "backward"]


def _lin(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    return F.linear(x, w, b)


# ------------------------------------------------------------------- Elman RNN
def _rnn_forward(x, w_ih, w_hh, b_ih, b_hh, act: str):
    T, B, _ = x.shape
    h = x.new_zeros(B, w_hh.shape[1])  # h_0 (B, H)
    hs = []
    for t in range(T):
        a = _lin(x[t], w_ih, b_ih) + _lin(h, w_hh, b_hh)  # (B, H)
        h = torch.tanh(a) if act == "tanh" else torch.relu(a)
        hs.append(h)
    return torch.stack(hs), {"act": act}  # (T, B, H)


def _rnn_backward(hs, cache, G, w_ih, w_hh):
    dA = torch.empty_like(G)  # (T, B, H)
    carry = torch.zeros_like(G[0])  # ∂L/∂h_t arriving from step t+1
    dh = torch.empty_like(G)
    for t in reversed(range(G.shape[0])):
        g = G[t] + carry  # ∂L/∂h_t
        dh[t] = g
        if cache["act"] == "tanh":
            dA[t] = g * (1 - hs[t] * hs[t])  # tanh' = 1 - h²
        else:
            dA[t] = g * (hs[t] > 0).to(g.dtype)  # relu' = [h > 0]
        carry = dA[t] @ w_hh  # ∂a_t/∂h_{t-1} = W_hh
    return dh, dA @ w_ih  # dx_t = da_t W_ih


# ------------------------------------------------------------------------ LSTM
def _lstm_forward(x, w_ih, w_hh, b_ih, b_hh):
    T, B, _ = x.shape
    H = w_hh.shape[1]
    h, c = x.new_zeros(B, H), x.new_zeros(B, H)
    hs, cache = [], {"gates": [], "c": [], "c_prev": []}
    for t in range(T):
        i, f, g, o = (_lin(x[t], w_ih, b_ih) + _lin(h, w_hh, b_hh)).chunk(4, -1)  # 4 × (B, H)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        cache["c_prev"].append(c)
        c = f * c + i * g  # c_t
        h = o * torch.tanh(c)  # h_t
        cache["gates"].append((i, f, g, o))
        cache["c"].append(c)
        hs.append(h)
    return torch.stack(hs), cache


def _lstm_backward(hs, cache, G, w_ih, w_hh, dc_last=None):
    T = G.shape[0]
    dA = G.new_empty(T, G.shape[1], 4 * G.shape[2])  # (T, B, 4H)
    dh = torch.empty_like(G)
    carry = torch.zeros_like(G[0])
    # ∂L/∂c_t arriving through c_{t+1} = f_{t+1} ⊙ c_t + … (at t = T: from c_n, if used)
    dc_next = torch.zeros_like(G[0]) if dc_last is None else dc_last
    for t in reversed(range(T)):
        i, f, g, o = cache["gates"][t]
        g_h = G[t] + carry  # ∂L/∂h_t
        dh[t] = g_h
        tc = torch.tanh(cache["c"][t])
        dc = dc_next + g_h * o * (1 - tc * tc)  # h_t = o ⊙ tanh(c_t)
        d_o = g_h * tc
        d_i, d_g, d_f = dc * g, dc * i, dc * cache["c_prev"][t]  # c_t = f ⊙ c_{t-1} + i ⊙ g
        dc_next = dc * f
        dA[t] = torch.cat([d_i * i * (1 - i), d_f * f * (1 - f), d_g * (1 - g * g),
                           d_o * o * (1 - o)], -1)  # σ' = σ(1-σ), tanh' = 1 - tanh²
        carry = dA[t] @ w_hh
    return dh, dA @ w_ih


# ------------------------------------------------------------------------- GRU
def _gru_forward(x, w_ih, w_hh, b_ih, b_hh):
    T, B, _ = x.shape
    h = x.new_zeros(B, w_hh.shape[1])
    hs, cache = [], {"r": [], "z": [], "n": [], "hn": [], "h_prev": []}
    for t in range(T):
        xr, xz, xn = _lin(x[t], w_ih, b_ih).chunk(3, -1)  # 3 × (B, H)
        hr, hz, hn = _lin(h, w_hh, b_hh).chunk(3, -1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)  # r sits inside n, as in torch
        for key, value in (("r", r), ("z", z), ("n", n), ("hn", hn), ("h_prev", h)):
            cache[key].append(value)
        h = (1 - z) * n + z * h
        hs.append(h)
    return torch.stack(hs), cache


def _gru_backward(hs, cache, G, w_ih, w_hh):
    T = G.shape[0]
    dAx = G.new_empty(T, G.shape[1], 3 * G.shape[2])  # ∂L/∂(W_ih x_t + b_ih)  (T, B, 3H)
    dh = torch.empty_like(G)
    carry = torch.zeros_like(G[0])
    for t in reversed(range(T)):
        r, z, n, hn, h_prev = (cache[k][t] for k in ("r", "z", "n", "hn", "h_prev"))
        g = G[t] + carry  # ∂L/∂h_t
        dh[t] = g
        dan = g * (1 - z) * (1 - n * n)  # h_t = (1-z) ⊙ n + z ⊙ h_{t-1}; n = tanh(a_n)
        dar = dan * hn * r * (1 - r)  # a_n = x_n + r ⊙ hn
        daz = g * (h_prev - n) * z * (1 - z)
        dAx[t] = torch.cat([dar, daz, dan], -1)
        dAh = torch.cat([dar, daz, dan * r], -1)  # ∂L/∂(W_hh h_{t-1} + b_hh)
        carry = g * z + dAh @ w_hh
    return dh, dAx @ w_ih


# -------------------------------------------------------------- MinGRU, MinLSTM
def _g(x: Tensor) -> Tensor:
    """MinGRU's candidate activation g(x) = x + 0.5 (x ≥ 0), σ(x) (x < 0)."""
    return torch.sigmoid(x.clamp(max=0.0)) + x.clamp(min=0.0)


def _g_prime(x: Tensor) -> Tensor:
    s = torch.sigmoid(x.clamp(max=0.0))
    return (x >= 0).to(x.dtype) + (x <= 0).to(x.dtype) * s * (1 - s)  # as autograd's clamp


def _min_forward(x, w, b, lstm: bool):
    T, B, _ = x.shape
    P = _lin(x, w, b)  # (T, B, G·H): gates depend on x only
    if lstm:
        pf, pi, ph = P.chunk(3, -1)
        z = torch.sigmoid(F.softplus(-pf) - F.softplus(-pi))  # i' = i / (f + i)
    else:
        pz, ph = P.chunk(2, -1)
        z = torch.sigmoid(pz)
    cand = _g(ph)  # h̃_t
    h = x.new_zeros(B, z.shape[-1])
    hs, prev = [], []
    for t in range(T):
        prev.append(h)
        h = (1 - z[t]) * h + z[t] * cand[t]
        hs.append(h)
    return torch.stack(hs), {"P": P, "z": z, "cand": cand, "h_prev": torch.stack(prev), "lstm": lstm}


def _min_backward(hs, cache, G, w, _unused):
    z, cand, h_prev = cache["z"], cache["cand"], cache["h_prev"]
    dh = torch.empty_like(G)
    carry = torch.zeros_like(G[0])
    for t in reversed(range(G.shape[0])):
        dh[t] = G[t] + carry
        carry = dh[t] * (1 - z[t])  # h_t = (1-z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t
    dz = dh * (cand - h_prev) * z * (1 - z)  # ∂L/∂(pre-sigmoid of z)
    if cache["lstm"]:
        pf, pi, ph = cache["P"].chunk(3, -1)
        dP = torch.cat([-dz * torch.sigmoid(-pf), dz * torch.sigmoid(-pi),
                        dh * z * _g_prime(ph)], -1)  # d softplus(-p)/dp = -σ(-p)
    else:
        ph = cache["P"].chunk(2, -1)[1]
        dP = torch.cat([dz, dh * z * _g_prime(ph)], -1)
    return dh, dP @ w


# ---------------------------------------------------------------------- dispatch
def forward(mode: str, x: Tensor, weights: tuple):
    """Run one layer-direction: returns hs (T, B, H), the cache and the final c (LSTM)."""
    if mode in ("RNN_TANH", "RNN_RELU"):
        hs, cache = _rnn_forward(x, *weights[:4], "tanh" if mode == "RNN_TANH" else "relu")
    elif mode == "LSTM":
        hs, cache = _lstm_forward(x, *weights[:4])
    elif mode == "GRU":
        hs, cache = _gru_forward(x, *weights[:4])
    else:
        hs, cache = _min_forward(x, weights[0], weights[1], mode == "MinLSTM")
    return hs, cache


def backward(mode: str, hs: Tensor, cache: dict, G: Tensor, weights: tuple,
             dc_last: Tensor | None = None):
    """(dh, dx) for one layer-direction; see the module docstring. ``dc_last``: ∂L/∂c_T
    from outside (the LSTM's final cell state), if any."""
    if mode in ("RNN_TANH", "RNN_RELU"):
        return _rnn_backward(hs, cache, G, weights[0], weights[1])
    if mode == "LSTM":
        return _lstm_backward(hs, cache, G, weights[0], weights[1], dc_last)
    if mode == "GRU":
        return _gru_backward(hs, cache, G, weights[0], weights[1])
    return _min_backward(hs, cache, G, weights[0], None)
