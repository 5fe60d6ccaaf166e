"""The fused C++ loops of the extended LSTM (kernels/lstm_ext.cpp) equal the Python loops."""
from __future__ import annotations

import pytest
import torch

import rnnkit.nn
from rnnkit.nn import kernels
from rnnkit.nn.bptt import lstm_ext_kernel
from rnnkit.nn.extensions import runner
from rnnkit.nn.bptt.lstm_ext import lstm_extended_sequence
from rnnkit.nn.extensions.sequence import input_part
from tests.nn.helpers import assert_fused_equals_python

needs_kernels = pytest.mark.skipif(not kernels.available(),
                                   reason="fused kernels not built (no compiler)")

T, B, H = 6, 3, 5
LN_NAMES = ("ln_gain_hh", "ln_bias_hh", "ln_gain_c", "ln_bias_c")


def _case(layer_norm, zoneout, dropout, dtype=torch.float64, seed=0):
    """Inputs of lstm_extended_sequence (differentiable ones first) and its fixed masks."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=dtype) * scale).requires_grad_()

    def bern(p, *shape):
        return torch.bernoulli(torch.full(shape, p, dtype=dtype), generator=g)

    diff = [r(T, B, 4 * H), r(B, H), r(B, H), r(4 * H, H, scale=0.5)]
    if layer_norm:  # gains around 1, biases around 0
        diff += [(1 + 0.5 * r(4 * H)).detach().requires_grad_(), r(4 * H),
                 (1 + 0.5 * r(H)).detach().requires_grad_(), r(H)]
    d = bern(0.6, B, H) / 0.6 if dropout else None
    if zoneout == "masks":  # training: a fresh mask per step and unit
        m_h, m_c = bern(0.3, T, B, H), bern(0.3, T, B, H)
    elif zoneout == "constant":  # evaluation: the constant p
        m_h = m_c = 0.3
    else:
        m_h = m_c = None
    return diff, (d, m_h, m_c)


def _run(diff, masks, reverse, weights):
    ax, h0, c0, w_hh, *ln_vals = diff
    ln = dict(zip(LN_NAMES, ln_vals)) if ln_vals else None
    y, h, c = lstm_extended_sequence(ax, h0, c0, w_hh, ln, *masks, reverse=reverse)
    loss = sum((out * w).sum() for out, w in zip((y, h, c), weights))
    return [y, h, c, *torch.autograd.grad(loss, diff)]


@needs_kernels
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("dropout", [False, True])
@pytest.mark.parametrize("zoneout", ["none", "masks", "constant"])
@pytest.mark.parametrize("layer_norm", [False, True])
def test_fused_equals_python_loop_float64(layer_norm, zoneout, dropout, reverse):
    diff, masks = _case(layer_norm, zoneout, dropout)
    weights = [torch.randn(T, B, H, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64),
               torch.randn(B, H, dtype=torch.float64)]
    fused = _run(diff, masks, reverse, weights)
    with kernels.disabled():
        python = _run(diff, masks, reverse, weights)
    assert len(fused) == 3 + len(diff)
    for a, b in zip(fused, python):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@needs_kernels
@pytest.mark.parametrize("layer_norm", [False, True])
def test_fused_gradcheck_with_every_extension(layer_norm):
    diff, masks = _case(layer_norm, "masks", True, seed=3)

    def fn(ax, h0, c0, w_hh, *ln_vals):
        ln = dict(zip(LN_NAMES, ln_vals)) if ln_vals else None
        return lstm_extended_sequence(ax, h0, c0, w_hh, ln, *masks)

    assert torch.autograd.gradcheck(fn, diff)


def _input_ln_case(bias, seed=0, dtype=torch.float64):
    """x, w_ih, b_ih, b_hh, the six LN parameters, h0, c0, w_hh: all differentiable."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=1.0, centre=0.0):
        return (centre + torch.randn(*shape, generator=g, dtype=dtype) * scale).requires_grad_()

    I = 4
    ln = {"ln_gain_ih": r(4 * H, scale=0.5, centre=1.0), "ln_bias_ih": r(4 * H),
          "ln_gain_hh": r(4 * H, scale=0.5, centre=1.0), "ln_bias_hh": r(4 * H),
          "ln_gain_c": r(H, scale=0.5, centre=1.0), "ln_bias_c": r(H)}
    b_ih, b_hh = (r(4 * H), r(4 * H)) if bias else (None, None)
    return r(T, B, I), r(4 * H, I), b_ih, b_hh, ln, r(B, H), r(B, H), r(4 * H, H, scale=0.5)


def _leaves(x, w_ih, b_ih, b_hh, ln, h0, c0, w_hh):
    return [t for t in (x, w_ih, b_ih, b_hh, *ln.values(), h0, c0, w_hh) if t is not None]


@needs_kernels
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("zoneout, dropout, bias", [
    ("none", False, True), ("masks", True, True), ("constant", False, False),
    ("masks", False, False)])
def test_input_layer_norm_in_the_kernel_equals_python(zoneout, dropout, bias, reverse):
    x, w_ih, b_ih, b_hh, ln, h0, c0, w_hh = case = _input_ln_case(bias)
    _, masks = _case(False, zoneout, dropout)
    leaves = _leaves(*case)
    weights = [torch.randn(T, B, H, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64),
               torch.randn(B, H, dtype=torch.float64)]

    def grads(outs):
        loss = sum((o * w).sum() for o, w in zip(outs, weights))
        return [*outs, *torch.autograd.grad(loss, leaves)]

    fused = grads(lstm_ext_kernel.ln_lstm_sequence(x, w_ih, b_ih, b_hh, ln, h0, c0, w_hh, *masks,
                                               reverse=reverse))
    with kernels.disabled():
        ax = input_part("LSTM", x, w_ih, b_ih, b_hh, ln, 1e-5)
        hh_c = {k: ln[k] for k in ("ln_gain_hh", "ln_bias_hh", "ln_gain_c", "ln_bias_c")}
        python = grads(lstm_extended_sequence(ax, h0, c0, w_hh, hh_c, *masks, reverse=reverse))
    for a, b in zip(fused, python):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@needs_kernels
def test_input_layer_norm_in_the_kernel_gradcheck():
    x, w_ih, b_ih, b_hh, ln, h0, c0, w_hh = _input_ln_case(True, seed=4)
    _, masks = _case(False, "masks", True, seed=4)
    names = list(ln)

    def fn(x, w_ih, b_ih, b_hh, *rest):
        ln_vals, (h0, c0, w_hh) = dict(zip(names, rest[:6])), rest[6:]
        return lstm_ext_kernel.ln_lstm_sequence(x, w_ih, b_ih, b_hh, ln_vals, h0, c0, w_hh, *masks)

    assert torch.autograd.gradcheck(fn, (x, w_ih, b_ih, b_hh, *ln.values(), h0, c0, w_hh))


@needs_kernels
@pytest.mark.parametrize("training", [True, False])
def test_bidirectional_layer_fused_equals_python(monkeypatch, training):
    """A 2-layer bidirectional LN-LSTM with zoneout and recurrent dropout, h0 given."""
    monkeypatch.setattr(runner, "USE_FUSED_LSTM", True)
    torch.manual_seed(0)
    m = rnnkit.nn.LSTM(4, H, num_layers=2, bidirectional=True, layer_norm=True, zoneout=0.2,
                       recurrent_dropout=0.3).double().train(training)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("ln_"):
                p.add_(torch.randn_like(p) * 0.3)
    x = torch.randn(T, B, 4, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, B, H, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(4, B, H, dtype=torch.float64, requires_grad=True)

    def run():
        torch.manual_seed(7)  # the same masks on both routes
        y, (h, c) = m(x, (h0, c0))
        weights = torch.arange(y.numel(), dtype=y.dtype).view_as(y).sin()
        loss = (y * weights).sum() + h.sum() + 2 * c.sum()
        return [y, h, c, *torch.autograd.grad(loss, [x, h0, c0, *m.parameters()])]

    assert_fused_equals_python(run)


@needs_kernels
@pytest.mark.parametrize("layer_norm", [False, True])
def test_inference_equals_training_forward(layer_norm):
    """Without gradients the kernel keeps no history; the outputs do not change."""
    diff, masks = _case(layer_norm, "masks", True)
    ax, h0, c0, w_hh, *ln_vals = diff
    ln = dict(zip(LN_NAMES, ln_vals)) if ln_vals else None
    with_grad = lstm_extended_sequence(ax, h0, c0, w_hh, ln, *masks)
    with torch.no_grad():
        without = lstm_extended_sequence(ax, h0, c0, w_hh, ln, *masks)
    for a, b in zip(with_grad, without):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


@needs_kernels
@pytest.mark.parametrize("layer_norm", [False, True])
def test_float32_close_to_float64(layer_norm):
    """The float32 kernel (its own exp, oneDNN GEMM at these sizes) keeps float precision."""
    # T ≥ 16 and this W_hh take the packed oneDNN GEMM (where torch has it)
    T32, B32, H32 = 20, 4, 256
    torch.manual_seed(1)
    ax = torch.randn(T32, B32, 4 * H32, dtype=torch.float64) * 2
    w_hh = torch.randn(4 * H32, H32, dtype=torch.float64) * 0.2
    h0, c0 = torch.randn(B32, H32, dtype=torch.float64), torch.randn(B32, H32, dtype=torch.float64)
    ln = ({"ln_gain_hh": torch.rand(4 * H32, dtype=torch.float64) + 0.5,
           "ln_bias_hh": torch.randn(4 * H32, dtype=torch.float64),
           "ln_gain_c": torch.rand(H32, dtype=torch.float64) + 0.5,
           "ln_bias_c": torch.randn(H32, dtype=torch.float64)} if layer_norm else None)
    m = torch.bernoulli(torch.full((T32, B32, H32), 0.2, dtype=torch.float64))
    args = [ax, h0, c0, w_hh]
    ref = [t.requires_grad_() for t in args]
    out64 = lstm_extended_sequence(*ref, ln, None, m, m)
    g64 = torch.autograd.grad(sum(o.sum() for o in out64), ref)
    low = [t.detach().float().requires_grad_() for t in args]
    ln32 = {k: v.float() for k, v in ln.items()} if ln else None
    out32 = lstm_extended_sequence(*low, ln32, None, m.float(), m.float())
    g32 = torch.autograd.grad(sum(o.sum() for o in out32), low)
    for a, b in zip((*out32, *g32), (*out64, *g64)):
        assert ((a.double() - b).abs().max() / b.abs().max()).item() < 1e-5


def test_python_route_when_kernels_are_off():
    with kernels.disabled():
        assert not lstm_ext_kernel.applies(torch.zeros(1, 1, 4))


@needs_kernels
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_zoned_out_units_keep_their_state_bit_for_bit(dtype):
    diff, _ = _case(True, "none", False, dtype=dtype)
    ax, h0, c0, w_hh, *ln_vals = diff
    keep = torch.zeros(T, B, H, dtype=dtype)
    keep[:, 0] = 1.0  # row 0 is zoned out at every step
    ln = dict(zip(LN_NAMES, ln_vals))
    y, h, c = lstm_extended_sequence(ax, h0, c0, w_hh, ln, None, keep, keep)
    assert torch.equal(y[:, 0], h0[0].expand(T, H)) and torch.equal(c[0], c0[0])
    assert not torch.equal(h[1], h0[1])
