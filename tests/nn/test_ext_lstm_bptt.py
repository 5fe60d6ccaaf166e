"""The hand-written LSTM backward with extensions against the plain-autograd loop."""
from __future__ import annotations

import pytest
import torch

from rnnkit.nn.bptt.lstm_ext import lstm_extended_sequence
from rnnkit.nn.extensions.options import Extensions
from rnnkit.nn.extensions.recurrent_dropout import recurrent_mask
from rnnkit.nn.extensions.sequence import extended_sequence, input_part
from rnnkit.nn.extensions.zoneout import zoneout_masks

T, B, I, H = 6, 3, 4, 5


def params(layer_norm, dtype=torch.float64):
    def P(*shape, scale=1.0):
        return (torch.randn(*shape, dtype=dtype) * scale).requires_grad_()
    w = dict(x=P(T, B, I), w_ih=P(4 * H, I), w_hh=P(4 * H, H, scale=0.5), b_ih=P(4 * H),
             b_hh=P(4 * H), h0=P(B, H), c0=P(B, H))
    ln = None
    if layer_norm:
        ln = {name: P(size) for name, size in (
            ("ln_gain_ih", 4 * H), ("ln_bias_ih", 4 * H), ("ln_gain_hh", 4 * H),
            ("ln_bias_hh", 4 * H), ("ln_gain_c", H), ("ln_bias_c", H))}
    return w, ln


@pytest.mark.parametrize("layer_norm, zoneout, recurrent_dropout", [
    (False, 0.0, 0.0), (True, 0.0, 0.0), (False, 0.3, 0.0), (False, 0.0, 0.4), (True, 0.3, 0.4)])
@pytest.mark.parametrize("reverse, training", [(False, True), (True, False)])
def test_fused_equals_autograd_loop(layer_norm, zoneout, recurrent_dropout, reverse, training):
    w, ln = params(layer_norm)
    ext = Extensions(layer_norm, recurrent_dropout, zoneout)
    torch.manual_seed(5)
    y1, (h1, c1) = extended_sequence("LSTM", w["x"], (w["h0"], w["c0"]), w["w_ih"], w["w_hh"],
                                     w["b_ih"], w["b_hh"], ln, ext, training, None, reverse)
    torch.manual_seed(5)  # the same masks, drawn in the same order
    ax = input_part("LSTM", w["x"], w["w_ih"], w["b_ih"], w["b_hh"], ln, ext.eps)
    d = recurrent_mask(w["h0"], recurrent_dropout, training)
    m_h = zoneout_masks(w["h0"], T, zoneout, training)
    m_c = zoneout_masks(w["c0"], T, zoneout, training)
    y2, h2, c2 = lstm_extended_sequence(ax, w["h0"], w["c0"], w["w_hh"], ln, d, m_h, m_c,
                                        ext.eps, reverse)
    weights = [torch.randn_like(t) for t in (y1, h1, c1)]
    inputs = list(w.values()) + (list(ln.values()) if ln else [])
    loss1 = sum((a * b).sum() for a, b in zip((y1, h1, c1), weights))
    loss2 = sum((a * b).sum() for a, b in zip((y2, h2, c2), weights))
    for a, b in zip((y1, h1, c1), (y2, h2, c2)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)
    for g1, g2 in zip(torch.autograd.grad(loss1, inputs), torch.autograd.grad(loss2, inputs)):
        torch.testing.assert_close(g1, g2, rtol=0, atol=1e-12)


@pytest.mark.parametrize("layer_norm", [False, True])
def test_gradcheck_with_every_extension(layer_norm):
    torch.manual_seed(2)
    ax = torch.randn(2, 2, 8, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    w_hh = torch.randn(8, 2, dtype=torch.float64, requires_grad=True)
    ln_vals = [torch.randn(n, dtype=torch.float64, requires_grad=True) for n in (8, 8, 2, 2)]
    d = torch.tensor([[2.0, 0.0], [2.0, 2.0]], dtype=torch.float64)
    m_h = torch.bernoulli(torch.full((2, 2, 2), 0.3, dtype=torch.float64))
    m_c = torch.bernoulli(torch.full((2, 2, 2), 0.3, dtype=torch.float64))

    def fn(ax, h0, c0, w_hh, *ln_vals):
        ln = dict(zip(("ln_gain_hh", "ln_bias_hh", "ln_gain_c", "ln_bias_c"), ln_vals)) \
            if layer_norm else None
        return lstm_extended_sequence(ax, h0, c0, w_hh, ln, d, m_h, m_c)

    args = (ax, h0, c0, w_hh, *(ln_vals if layer_norm else ()))
    assert torch.autograd.gradcheck(fn, args)


def test_float32_oneDNN_sizes_match_autograd():
    # T ≥ 16 and a 4H×H ≥ 64·64 weight take the packed oneDNN GEMM where torch has it.
    T32, H32 = 20, 32
    torch.manual_seed(1)
    x = torch.randn(T32, 4, 8)
    w_ih, w_hh = torch.randn(4 * H32, 8) * 0.2, torch.randn(4 * H32, H32) * 0.2
    h0 = c0 = torch.zeros(4, H32)
    ln = {"ln_gain_ih": torch.ones(4 * H32), "ln_bias_ih": torch.zeros(4 * H32),
          "ln_gain_hh": torch.ones(4 * H32), "ln_bias_hh": torch.zeros(4 * H32),
          "ln_gain_c": torch.ones(H32), "ln_bias_c": torch.zeros(H32)}
    ext = Extensions(layer_norm=True)
    y1 = extended_sequence("LSTM", x, (h0, c0), w_ih, w_hh, None, None, ln, ext, True)[0]
    ax = input_part("LSTM", x, w_ih, None, None, ln, ext.eps)
    y2 = lstm_extended_sequence(ax, h0, c0, w_hh, ln, None, None, None)[0]
    torch.testing.assert_close(y1, y2, rtol=1e-4, atol=1e-5)
