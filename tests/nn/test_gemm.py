"""The per-step GEMM: oneDNN packed weights (float32 CPU) and MKL give the same layers."""
from __future__ import annotations

import pytest
import torch

from rnnkit.nn import kernels
from rnnkit.nn import gemm
from rnnkit.nn.bptt import lstm as bptt_lstm
from tests.nn.test_bptt_layers import CELLS, direction_weights, initial_states, ours, torch_layer, weighted_grads


@pytest.fixture
def onednn_even_when_small(monkeypatch):
    """Tiny test sizes would skip the oneDNN route (its packing has a fixed cost)."""
    monkeypatch.setattr(gemm, "MIN_STEPS", 1)
    monkeypatch.setattr(gemm, "MIN_WEIGHT", 1)
    monkeypatch.setattr(gemm, "MIN_STEP_WEIGHT", 1)


def test_small_problems_skip_the_packing():
    w = torch.randn(12, 5)
    assert gemm.StepMatmul(w, 4, steps=5).packed is None


def test_step_matmul_routes_agree(onednn_even_when_small):
    torch.manual_seed(0)
    w, h, base = torch.randn(12, 5), torch.randn(4, 5), torch.randn(4, 12)
    want = base + h @ w.t()
    mkl = gemm.StepMatmul(w, 4, onednn=False)
    assert mkl.packed is None
    torch.testing.assert_close(mkl.step(base, h, out=torch.empty(4, 12)), want)
    fast = gemm.StepMatmul(w, 4)
    if not gemm.onednn_available():
        pytest.skip("this torch build has no oneDNN linear ops")
    assert fast.packed is not None
    torch.testing.assert_close(fast.step(base, h, out=torch.empty(4, 12)), want)
    torch.testing.assert_close(fast.step_bias(base[0], h, out=torch.empty(4, 12)), h @ w.t() + base[0])


def test_float64_never_takes_onednn():
    assert gemm.StepMatmul(torch.randn(3, 2, dtype=torch.float64), 4).packed is None


@pytest.mark.parametrize("cell", CELLS + ["lstm_proj"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_layers_agree_with_onednn_off(cell, reverse, fused, monkeypatch, onednn_even_when_small):
    """The Python loops' StepMatmul routes (spied), and the fused C++ loops (LSTM with and
    without projection, GRU, RNN) given the packed weight or not, agree with oneDNN
    turned off."""
    if fused and not kernels.available():
        pytest.skip("fused kernels not built (no compiler)")
    if not fused:
        monkeypatch.setattr(kernels, "_state", {**kernels._state, "off": 1})
    took_fused = []
    original_fused = bptt_lstm._fused
    monkeypatch.setattr(bptt_lstm, "_fused", lambda *a: took_fused.append(original_fused(*a)) or took_fused[-1])
    proj = 2 if cell == "lstm_proj" else 0
    cell = "lstm" if proj else cell
    T, B, I, H = 6, 4, 3, 8
    m = torch_layer(cell, I, H, proj=proj, dtype=torch.float32)
    x = torch.randn(T, B, I, requires_grad=True)
    states = initial_states(cell, m, B, dtype=torch.float32)
    ws = direction_weights(m, reverse)
    leaves = [x, *states, *[w for w in ws if w is not None]]
    d = int(reverse)

    def run():
        outs = ours(cell, x, [s[d] for s in states], ws, reverse=reverse)
        seeds = [torch.ones_like(o) * 0.5 for o in outs]
        return outs, weighted_grads(outs, leaves, seeds)

    routes = []

    def spying(original):
        def spy(self, *args, **kwargs):
            routes.append(self.packed is not None)
            return original(self, *args, **kwargs)

        return spy

    monkeypatch.setattr(gemm.StepMatmul, "step", spying(gemm.StepMatmul.step))
    monkeypatch.setattr(gemm.StepMatmul, "step_bias", spying(gemm.StepMatmul.step_bias))
    fast_outs, fast_grads = run()
    if gemm.onednn_available() and not fused:
        # Every forward step takes oneDNN; the GRU backward stays on MKL by choice.
        assert sum(routes) >= T and (cell == "gru" or all(routes))
    monkeypatch.setenv("RNNKIT_ONEDNN", "0")
    routes.clear()
    slow_outs, slow_grads = run()
    assert not any(routes)
    if cell == "lstm":  # with or without projection
        assert took_fused and all(took_fused) == fused
    for a, b in zip(list(fast_outs) + list(fast_grads), list(slow_outs) + list(slow_grads)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
