"""gradcheck / gradgradcheck of the kernels, and the no-grad path that keeps nothing."""
from __future__ import annotations

import pytest
import torch

from rnnkit.nn.bptt import gru as bptt_gru
from rnnkit.nn.bptt import lstm as bptt_lstm
from rnnkit.nn.bptt import rnn as bptt_rnn
from tests.nn.test_bptt_layers import CELLS, direction_weights, ours, torch_layer

def _inputs(cell: str, proj: int = 0):
    T, B, I, H = 3, 3, 2, 2
    m = torch_layer(cell, I, H, proj=proj)
    P = proj or H
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    states = [torch.randn(B, P, dtype=torch.float64, requires_grad=True)]
    if cell == "lstm":
        states.append(torch.randn(B, H, dtype=torch.float64, requires_grad=True))
    ws = [w.detach().clone().requires_grad_() for w in direction_weights(m, False) if w is not None]
    return x, states, ws


GRID = [(c, p, r) for c in CELLS + ["lstm_proj"] for p in (False, True) for r in (False, True)]
# gradgradcheck differentiates the plain-autograd recompute: a few configurations suffice.
DOUBLE = {("lstm", True, True), ("lstm_proj", False, True), ("gru", True, False), ("rnn_tanh", False, False),
          ("rnn_relu", True, True)}


@pytest.mark.parametrize(("cell", "packed", "reverse"), GRID)
def test_gradcheck_and_gradgradcheck(cell, packed, reverse):
    double = (cell, packed, reverse) in DOUBLE
    proj = 1 if cell == "lstm_proj" else 0
    cell = "lstm" if proj else cell
    x, states, ws = _inputs(cell, proj)
    n_states = len(states)
    batch_sizes = [3, 2, 1] if packed else None
    if cell == "lstm" and not proj:
        ws = ws + [None]

    def fn(x, *rest):
        st, w = list(rest[:n_states]), list(rest[n_states:])
        return tuple(ours(cell, x, st, w, batch_sizes=batch_sizes, reverse=reverse))

    args = (x, *states, *[w for w in ws if w is not None])
    if cell == "lstm" and not proj:

        def fn(x, *rest):  # noqa: F811 (weight_hr stays None)
            st, w = list(rest[:n_states]), list(rest[n_states:]) + [None]
            return tuple(ours(cell, x, st, w, batch_sizes=batch_sizes, reverse=reverse))

    assert torch.autograd.gradcheck(fn, args)
    if double:
        assert torch.autograd.gradgradcheck(fn, args)


@pytest.mark.parametrize("cell", CELLS)
def test_no_grad_runs_without_the_autograd_function(cell, monkeypatch):
    x, states, ws = _inputs(cell)
    if cell == "lstm":
        ws = ws + [None]
    with_grad = ours(cell, x, states, ws)

    def refuse(*args, **kwargs):
        raise AssertionError("the autograd Function ran although no gradient is needed")

    cls = {"lstm": bptt_lstm._LSTMFunction, "gru": bptt_gru._GRUFunction}.get(cell, bptt_rnn._RNNFunction)
    monkeypatch.setattr(cls, "apply", refuse)
    for context in (torch.no_grad, torch.inference_mode):
        with context():
            without = ours(cell, x, states, ws)
        for a, b in zip(without, with_grad):
            assert a.grad_fn is None
            # The LSTM's inference kernel makes one GEMM of [x_t, h] with [W_ih | W_hh]
            # where training adds two products, so the last bits may differ.
            torch.testing.assert_close(a, b.detach(), rtol=0, atol=1e-14 if a.dtype == torch.float64 else 0)


def test_inference_forward_keeps_no_history():
    x, states, ws = _inputs("lstm")
    sched = bptt_lstm.Schedule(x.shape[0], x.shape[1], None, False)
    with torch.no_grad():
        *_, saved = bptt_lstm._forward(x, *states, *ws, None, sched, False)
        assert saved is None
        *_, saved = bptt_gru._forward(x, states[0], *_inputs("gru")[2], sched, False)
        assert saved is None
