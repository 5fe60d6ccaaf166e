"""batch_sizes (packed sequences): each row equals that sequence run alone in torch.nn."""
from __future__ import annotations

import pytest
import torch

from rnnkit.errors import RnnkitError
from rnnkit.nn.bptt import lstm_sequence
from tests.nn.test_bptt_layers import (
    CELLS,
    TOL,
    direction_weights,
    initial_states,
    oracle,
    ours,
    torch_layer,
    weighted_grads,
)

# Rows sorted by length, as in a PackedSequence; the last row never starts.
LENGTHS = [5, 5, 3, 1, 0]


def batch_sizes_of(lengths: list[int]) -> list[int]:
    return [sum(L > t for L in lengths) for t in range(max(lengths))]


@pytest.mark.parametrize("cell", CELLS + ["lstm_proj"])
@pytest.mark.parametrize("reverse", [False, True])
def test_each_row_equals_its_sequence_alone(cell, reverse):
    proj = 2 if cell == "lstm_proj" else 0
    cell = "lstm" if proj else cell
    T, B, I, H = max(LENGTHS), len(LENGTHS), 3, 4
    m = torch_layer(cell, I, H, proj=proj)
    x = torch.randn(T, B, I, dtype=torch.float64)
    for r, L in enumerate(LENGTHS):
        x[L:, r] = 100.0  # padding must never be read
    x.requires_grad_()
    states = initial_states(cell, m, B)
    ws = direction_weights(m, reverse)
    d = int(reverse)
    mine = ours(cell, x, [s[d] for s in states], ws, batch_sizes=batch_sizes_of(LENGTHS), reverse=reverse)
    seeds = [torch.randn_like(o) for o in mine]
    y, finals = mine[0], mine[1:]

    ref_loss = 0
    for r, L in enumerate(LENGTHS):
        torch.testing.assert_close(y[L:, r], torch.zeros_like(y[L:, r]), rtol=0, atol=0)
        if L == 0:  # never updated: the initial state passes through
            for f, s in zip(finals, states):
                torch.testing.assert_close(f[r], s[d, r], rtol=0, atol=0)
            ref_loss = ref_loss + sum((s[d, r] * sd[r]).sum() for s, sd in zip(states, seeds[1:]))
            continue
        alone = oracle(cell, m, x[:L, r : r + 1], [s[:, r : r + 1] for s in states], reverse)
        torch.testing.assert_close(y[:L, r], alone[0][:, 0], **TOL)
        for f, a in zip(finals, alone[1:]):
            torch.testing.assert_close(f[r], a[0], **TOL)
        ref_loss = ref_loss + (alone[0][:, 0] * seeds[0][:L, r]).sum()
        ref_loss = ref_loss + sum((a[0] * sd[r]).sum() for a, sd in zip(alone[1:], seeds[1:]))

    leaves = [x, *states, *[w for w in ws if w is not None]]
    got = weighted_grads(mine, leaves, seeds)
    want = torch.autograd.grad(ref_loss, leaves, allow_unused=True)
    for g_mine, g_ref in zip(got, want):
        g_ref = torch.zeros_like(g_mine) if g_ref is None else g_ref
        torch.testing.assert_close(g_mine, g_ref, **TOL)


def test_full_batch_sizes_equal_unpacked():
    T, B, I, H = 4, 3, 2, 5
    m = torch_layer("gru", I, H)
    x = torch.randn(T, B, I, dtype=torch.float64)
    h0 = torch.randn(B, H, dtype=torch.float64)
    ws = direction_weights(m, True)
    a = ours("gru", x, [h0], ws, reverse=True)
    b = ours("gru", x, [h0], ws, batch_sizes=[B] * T, reverse=True)
    for u, v in zip(a, b):
        torch.testing.assert_close(u, v, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("batch_sizes", "message"),
    [
        ([3, 2], "batch_sizes: expected 3 entries (one per time step), got 2"),
        ([2, 3, 1], "batch_sizes[1]: expected non-increasing values in [0, 3], got [2, 3, 1]"),
        ([4, 2, 1], "batch_sizes[0]: expected non-increasing values in [0, 3], got [4, 2, 1]"),
    ],
)
def test_bad_batch_sizes_name_the_argument(batch_sizes, message):
    T, B, I, H = 3, 3, 2, 4
    m = torch_layer("lstm", I, H)
    x = torch.randn(T, B, I, dtype=torch.float64)
    h0 = torch.zeros(B, H, dtype=torch.float64)
    with pytest.raises(RnnkitError) as info:
        lstm_sequence(x, h0, h0, *direction_weights(m, False), batch_sizes=batch_sizes)
    assert str(info.value) == message


def test_empty_sequence_is_refused_like_torch():
    m = torch_layer("gru", 2, 3)
    x = torch.zeros(0, 2, 2, dtype=torch.float64)
    with pytest.raises(RuntimeError) as info:
        ours("gru", x, [torch.zeros(2, 3, dtype=torch.float64)], direction_weights(m, False))
    assert str(info.value) == "Expected sequence length to be larger than 0 in RNN"
