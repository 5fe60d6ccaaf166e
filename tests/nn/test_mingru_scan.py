"""The chunked linear scan and the fused minGRU/minLSTM recurrence against plain loops."""
from __future__ import annotations

import pytest
import torch

from rnnkit.nn.minimal.layers import g_activation
from rnnkit.nn.minimal.scan import linear_scan, min_recurrence, scan_sequential


def random_recurrence(T, B=2, H=3, dtype=torch.float64):
    a = torch.rand(T, B, H, dtype=dtype).requires_grad_()
    b = torch.randn(T, B, H, dtype=dtype).requires_grad_()
    h0 = torch.randn(B, H, dtype=dtype).requires_grad_()
    return a, b, h0


def by_hand(a, b, h0, reverse):
    """h_t = a_t h_{t∓1} + b_t with Python floats, element by element."""
    a, b, h0 = a.detach(), b.detach(), h0.detach()
    T, B, H = a.shape
    out = torch.empty(T, B, H, dtype=torch.float64)
    for i in range(B):
        for j in range(H):
            h = float(h0[i, j])
            for t in (reversed(range(T)) if reverse else range(T)):
                h = float(a[t, i, j]) * h + float(b[t, i, j])
                out[t, i, j] = h
    return out


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_sequential_matches_hand_loop(reverse):
    a, b, h0 = random_recurrence(6)
    torch.testing.assert_close(scan_sequential(a, b, h0, reverse).detach(),
                               by_hand(a, b, h0, reverse), rtol=0, atol=1e-14)


# T below, at and above the chunking threshold, with and without a remainder.
@pytest.mark.parametrize("T", [1, 2, 63, 64, 65, 81, 97, 1000])
@pytest.mark.parametrize("reverse", [False, True])
def test_chunked_scan_equals_sequential_with_gradients(T, reverse):
    a, b, h0 = random_recurrence(T)
    weights = torch.randn(T, 2, 3, dtype=torch.float64)
    h1 = linear_scan(a, b, h0, reverse)
    g1 = torch.autograd.grad((h1 * weights).sum(), (a, b, h0))
    h2 = scan_sequential(a, b, h0, reverse)
    g2 = torch.autograd.grad((h2 * weights).sum(), (a, b, h0))
    assert (h1 - h2).abs().max().item() < 1e-12
    for x, y in zip(g1, g2):
        assert (x - y).abs().max().item() < 1e-12


@pytest.mark.parametrize("reverse", [False, True])
def test_linear_scan_gradcheck(reverse):
    a, b, h0 = random_recurrence(70, B=1, H=2)
    assert torch.autograd.gradcheck(lambda a, b, h0: linear_scan(a, b, h0, reverse), (a, b, h0))


def unfused(proj, h0, mask, reverse):
    """MinRecurrence written as plain autograd ops over scan_sequential."""
    G = proj.shape[-1] // h0.shape[-1]
    parts = proj.chunk(G, -1)
    if G == 2:
        z = torch.sigmoid(parts[0])
    else:
        f, i = torch.sigmoid(parts[0]), torch.sigmoid(parts[1])
        z = i / (f + i)
    if mask is not None:
        z = z * mask
    return scan_sequential(1 - z, z * g_activation(parts[-1]), h0, reverse)


@pytest.mark.parametrize("G", [2, 3])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_fused_recurrence_equals_unfused(G, reverse, masked):
    T = 90
    proj = torch.randn(T, 3, G * 4, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    mask = (torch.rand(T, 3, 1) > 0.3).double() if masked else None
    weights = torch.randn(T, 3, 4, dtype=torch.float64)
    h1 = min_recurrence(proj, h0, mask, reverse)
    g1 = torch.autograd.grad((h1 * weights).sum(), (proj, h0))
    h2 = unfused(proj, h0, mask, reverse)
    g2 = torch.autograd.grad((h2 * weights).sum(), (proj, h0))
    assert (h1 - h2).abs().max().item() < 1e-12
    for x, y in zip(g1, g2):
        assert (x - y).abs().max().item() < 1e-12


@pytest.mark.parametrize("G", [2, 3])
def test_fused_recurrence_gradcheck(G):
    proj = torch.randn(5, 2, G * 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p, h: min_recurrence(p, h, None, False), (proj, h0))
    assert torch.autograd.gradcheck(lambda p, h: min_recurrence(p, h, None, True), (proj, h0))


def test_minlstm_gates_do_not_overflow_when_both_saturate():
    proj = torch.full((3, 1, 3), -200.0)  # f and i both σ(−200) = 0 in float32
    h = min_recurrence(proj, torch.ones(1, 1), None, False)
    assert torch.isfinite(h).all()
