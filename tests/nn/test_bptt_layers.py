"""rnnkit.nn.bptt against torch.nn with copied weights: outputs, states, every gradient."""
from __future__ import annotations

import pytest
import torch

from rnnkit.nn.bptt import gru_sequence, lstm_sequence, rnn_sequence

CELLS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
TOL = dict(rtol=0, atol=1e-10)


def torch_layer(cell: str, I: int, H: int, bias: bool = True, proj: int = 0, dtype=torch.float64):
    """A one-layer bidirectional torch.nn layer: direction 0 and 1 give both oracles."""
    kw = dict(bias=bias, bidirectional=True, dtype=dtype)
    if cell == "lstm":
        return torch.nn.LSTM(I, H, proj_size=proj, **kw)
    if cell == "gru":
        return torch.nn.GRU(I, H, **kw)
    return torch.nn.RNN(I, H, nonlinearity=cell[4:], **kw)


def direction_weights(m: torch.nn.Module, reverse: bool) -> list:
    sfx = "_l0_reverse" if reverse else "_l0"
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    ws = [getattr(m, n + sfx, None) for n in names]
    if isinstance(m, torch.nn.LSTM):
        ws.append(getattr(m, "weight_hr" + sfx, None))
    return ws


def initial_states(cell: str, m: torch.nn.Module, B: int, dtype=torch.float64) -> list:
    """(2, B, ·) initial states for the bidirectional oracle, leaves requiring grad."""
    P = m.proj_size if getattr(m, "proj_size", 0) else m.hidden_size
    states = [torch.randn(2, B, P, dtype=dtype)]
    if cell == "lstm":
        states.append(torch.randn(2, B, m.hidden_size, dtype=dtype))
    return [s.requires_grad_() for s in states]


def ours(cell: str, x, states, ws, **kw):
    """Run the bptt kernel; returns (y, h_n) or (y, h_n, c_n)."""
    if cell == "lstm":
        return lstm_sequence(x, *states, *ws, **kw)
    if cell == "gru":
        return gru_sequence(x, *states, *ws, **kw)
    return rnn_sequence(x, *states, *ws, cell[4:], **kw)


def oracle(cell: str, m, x, states, reverse: bool):
    """Direction ``reverse`` of the torch.nn layer: (y, h_n[, c_n])."""
    d = int(reverse)
    if cell == "lstm":
        y, (h, c) = m(x, (states[0], states[1]))
    else:
        y, h = m(x, states[0])
    width = y.shape[-1] // 2
    out = [y[..., d * width : (d + 1) * width], h[d]]
    if cell == "lstm":
        out.append(c[d])
    return out


def weighted_grads(outs, inputs, seeds):
    loss = sum((o * s).sum() for o, s in zip(outs, seeds))
    return torch.autograd.grad(loss, inputs, allow_unused=True)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch_nn_forward_and_all_gradients(cell, reverse, bias):
    T, B, I, H = 5, 3, 4, 6
    m = torch_layer(cell, I, H, bias=bias)
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    states = initial_states(cell, m, B)
    ws = direction_weights(m, reverse)
    d = int(reverse)
    mine = ours(cell, x, [s[d] for s in states], ws, reverse=reverse)
    ref = oracle(cell, m, x, states, reverse)
    for a, b in zip(mine, ref):
        torch.testing.assert_close(a, b, **TOL)
    seeds = [torch.randn_like(o) for o in ref]
    leaves = [x, *states, *[w for w in ws if w is not None]]
    for g_mine, g_ref in zip(weighted_grads(mine, leaves, seeds), weighted_grads(ref, leaves, seeds)):
        torch.testing.assert_close(g_mine, g_ref, **TOL)


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_projection_matches_torch_nn(reverse):
    T, B, I, H, P = 4, 3, 5, 6, 2
    m = torch_layer("lstm", I, H, proj=P)
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    states = initial_states("lstm", m, B)
    ws = direction_weights(m, reverse)
    assert ws[-1] is not None and ws[-1].shape == (P, H)
    d = int(reverse)
    mine = ours("lstm", x, [s[d] for s in states], ws, reverse=reverse)
    ref = oracle("lstm", m, x, states, reverse)
    assert mine[0].shape == (T, B, P)
    for a, b in zip(mine, ref):
        torch.testing.assert_close(a, b, **TOL)
    seeds = [torch.randn_like(o) for o in ref]
    leaves = [x, *states, *ws]
    for g_mine, g_ref in zip(weighted_grads(mine, leaves, seeds), weighted_grads(ref, leaves, seeds)):
        torch.testing.assert_close(g_mine, g_ref, **TOL)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_close_to_torch_nn(cell):
    T, B, I, H = 6, 4, 3, 8
    m = torch_layer(cell, I, H, dtype=torch.float32)
    x = torch.randn(T, B, I, requires_grad=True)
    states = initial_states(cell, m, B, dtype=torch.float32)
    ws = direction_weights(m, False)
    mine = ours(cell, x, [s[0] for s in states], ws)
    ref = oracle(cell, m, x, states, False)
    assert all(o.dtype == torch.float32 for o in mine)
    for a, b in zip(mine, ref):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    seeds = [torch.randn_like(o) for o in ref]
    leaves = [x, *states, *[w for w in ws if w is not None]]
    for g_mine, g_ref in zip(weighted_grads(mine, leaves, seeds), weighted_grads(ref, leaves, seeds)):
        torch.testing.assert_close(g_mine, g_ref, rtol=1e-4, atol=1e-5)


def test_only_some_inputs_need_grad():
    """Weights frozen, x needs grad: the gradient of x still matches."""
    T, B, I, H = 4, 2, 3, 5
    m = torch_layer("lstm", I, H)
    for p in m.parameters():
        p.requires_grad_(False)
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, B, H, dtype=torch.float64)
    c0 = torch.randn(2, B, H, dtype=torch.float64)
    y, _, _ = lstm_sequence(x, h0[0], c0[0], *direction_weights(m, False))
    y_ref = oracle("lstm", m, x, [h0, c0], False)[0]
    seed = torch.randn_like(y)
    (g,) = torch.autograd.grad((y * seed).sum(), [x])
    (g_ref,) = torch.autograd.grad((y_ref * seed).sum(), [x])
    torch.testing.assert_close(g, g_ref, **TOL)
