"""The sequence functions (functional loops, and bptt when it lands) and packing helpers."""
from __future__ import annotations

import pytest
import torch

import rnnkit.nn
from rnnkit.nn import packing, stack
from tests.nn.helpers import assert_close, make_twins

B, I, H, P = 3, 3, 4, 2
MODES = ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]


def weights(mode, bias=True, proj=0, requires_grad=False, seed=0, B=B, I=I, H=H):
    """Random float64 (inputs to the sequence function after x): states, then weights."""
    gen = torch.Generator().manual_seed(seed)
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    out = proj or H

    def r(*shape):
        return (torch.randn(*shape, generator=gen, dtype=torch.float64) * 0.5).requires_grad_(requires_grad)

    states = [r(B, out), r(B, H)] if mode == "LSTM" else [r(B, H)]
    ws = [r(G * H, I), r(G * H, out), r(G * H) if bias else None, r(G * H) if bias else None]
    if mode == "LSTM":
        ws.append(r(proj, H) if proj else None)
    return states, ws


def call(mode, x, states, ws, **kwargs):
    fn = stack.sequence_function(mode)
    if mode.startswith("RNN_"):
        return fn(x, *states, *ws, mode[4:].lower(), **kwargs)
    return fn(x, *states, *ws, **kwargs)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reverse", [False, True])
def test_hold_semantics_equal_separate_sequences(mode, reverse, sequence_impl):
    """With batch_sizes, each row equals running that sequence alone over its own length."""
    lengths = [5, 3, 2]  # sorted, as in a PackedSequence
    batch_sizes = [sum(n > t for n in lengths) for t in range(5)]  # [3, 3, 2, 1, 1]
    x = torch.randn(5, B, I, dtype=torch.float64)
    states, ws = weights(mode, proj=P if mode == "LSTM" else 0)
    y, *finals = call(mode, x, states, ws, batch_sizes=batch_sizes, reverse=reverse)
    for b, n in enumerate(lengths):
        alone_y, *alone_finals = call(mode, x[:n, b:b + 1], [s[b:b + 1] for s in states], ws, reverse=reverse)
        assert_close(y[:n, b:b + 1], alone_y)
        assert torch.all(y[n:, b] == 0)
        for f, a in zip(finals, alone_finals, strict=True):
            assert_close(f[b:b + 1], a)


@pytest.mark.parametrize("mode", MODES)
def test_reverse_equals_flipped_forward(mode, sequence_impl):
    x = torch.randn(5, B, I, dtype=torch.float64)
    states, ws = weights(mode)
    y, *finals = call(mode, x, states, ws, reverse=True)
    y_flip, *finals_flip = call(mode, x.flip(0), states, ws)
    assert_close(y, y_flip.flip(0))
    for a, b in zip(finals, finals_flip, strict=True):
        assert_close(a, b)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("packed", [False, True])
def test_gradcheck_and_gradgradcheck(mode, packed, sequence_impl):
    b, i, h = 3, 2, 3  # tiny: gradgradcheck's cost grows with every size
    x = (torch.randn(3, b, i, dtype=torch.float64) * 0.5).requires_grad_()
    states, ws = weights(mode, proj=P if mode == "LSTM" else 0, requires_grad=True, seed=3, B=b, I=i, H=h)
    if mode == "RNN_RELU":  # keep pre-activations away from relu's kink
        with torch.no_grad():
            ws[2].add_(2.0)
    kwargs = {"batch_sizes": [3, 2, 1], "reverse": True} if packed else {}
    inputs = (x, *states, *[w for w in ws if w is not None])

    def f(*args):
        it = iter(args[1 + len(states):])
        given = [None if w is None else next(it) for w in ws]
        return call(mode, args[0], list(args[1:1 + len(states)]), given, **kwargs)

    assert torch.autograd.gradcheck(f, inputs)
    assert torch.autograd.gradgradcheck(f, inputs)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_layer_gradcheck_packed_bidirectional(mode, sequence_impl):
    layer = make_twins(mode, input_size=2, hidden_size=3, num_layers=2, bidirectional=True)[0]
    seqs = [torch.randn(n, 2, dtype=torch.float64, requires_grad=True) for n in (3, 1, 2)]

    def f(*seqs):
        out, _ = layer(torch.nn.utils.rnn.pack_sequence(list(seqs), enforce_sorted=False))
        return out.data

    assert torch.autograd.gradcheck(f, tuple(seqs))


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_chunks_with_carried_state_equal_one_call(cls, sequence_impl):
    layer = getattr(rnnkit.nn, cls)(I, H, num_layers=2, backend="rnnkit", dtype=torch.float64)
    x = torch.randn(6, B, I, dtype=torch.float64)
    y, state = layer(x)
    y1, mid = layer(x[:2])
    y2, end = layer(x[2:], mid)
    assert_close(torch.cat([y1, y2]), y)
    for a, b in zip(end if cls == "LSTM" else (end,), state if cls == "LSTM" else (state,)):
        assert_close(a, b)


def test_packing_round_trip_matches_torch():
    seqs = [torch.randn(n, 2) for n in (4, 2, 3)]
    packed = torch.nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False)
    padded = packing.packed_to_padded(packed.data, packed.batch_sizes)
    expected, _ = torch.nn.utils.rnn.pad_packed_sequence(
        torch.nn.utils.rnn.PackedSequence(packed.data, packed.batch_sizes))
    assert torch.equal(padded, expected)
    assert torch.equal(packing.padded_to_packed(padded, packed.batch_sizes), packed.data)


def test_empty_batch_runs():
    y, h = rnnkit.nn.GRU(I, H, backend="rnnkit")(torch.randn(5, 0, I))
    assert y.shape == (5, 0, H) and h.shape == (1, 0, H)
