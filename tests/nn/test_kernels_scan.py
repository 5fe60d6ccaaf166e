"""The fused MinGRU / MinLSTM kernel (kernels/scan.cpp) against the Python path."""
from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from rnnkit.nn import kernels
from rnnkit.nn.minimal.fused import min_layer
from rnnkit.nn.minimal.layers import MinGRU, MinLSTM
from rnnkit.nn.minimal.scan import min_recurrence

pytestmark = pytest.mark.skipif(not kernels.available(),
                                reason="fused kernels not built (no compiler)")

F64 = torch.float64


def _max_diff(xs, ys) -> float:
    return max((x - y).abs().max().item() if x.numel() else 0.0 for x, y in zip(xs, ys))


def _recurrence_case(T, B, H, G, masked, seed=0):
    g = torch.Generator().manual_seed(seed)
    proj = (3 * torch.randn(T, B, G * H, generator=g, dtype=F64)).requires_grad_()
    h0 = torch.randn(B, H, generator=g, dtype=F64).requires_grad_()
    mask = (torch.rand(T, B, 1, generator=g) > 0.3).to(F64) if masked else None
    weights = torch.randn(T, B, H, generator=g, dtype=F64)
    return proj, h0, mask, weights


def _recurrence(proj, h0, mask, reverse, weights):
    h = min_recurrence(proj, h0, mask, reverse)
    return [h, *torch.autograd.grad((h * weights).sum(), (proj, h0))]


# Sizes that split rows between threads (H not a multiple of 16, B·⌈H/16⌉ odd) and a
# single-step sequence.
@pytest.mark.parametrize("T,B,H", [(1, 1, 1), (7, 3, 5), (90, 3, 20), (1000, 1, 40), (600, 3, 37)])
@pytest.mark.parametrize("G", [2, 3])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_recurrence_fused_equals_python_float64(T, B, H, G, reverse, masked):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        case = _recurrence_case(T, B, H, G, masked)
        fused = _recurrence(*case[:3], reverse, case[3])
        with kernels.disabled():
            python = _recurrence(*case[:3], reverse, case[3])
    finally:
        torch.set_num_threads(threads)
    assert _max_diff(fused, python) < 1e-12


def _model_run(model, x, hx, weights):
    out, h_n = model(x, hx)
    h_weights = torch.linspace(-1, 1, h_n.numel(), dtype=F64).view_as(h_n)
    loss = (out * weights).sum() + (h_n * h_weights).sum()
    return [out, h_n, *torch.autograd.grad(loss, [*model.parameters(), hx, x])]


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_layer_fused_equals_python_float64(cls, bidirectional, bias):
    torch.manual_seed(0)
    T, B, I, H, L = 70, 3, 5, 6, 2
    model = cls(I, H, num_layers=L, bias=bias, bidirectional=bidirectional).double()
    D = 2 if bidirectional else 1
    x = torch.randn(T, B, I, dtype=F64, requires_grad=True)
    hx = torch.randn(D * L, B, H, dtype=F64, requires_grad=True)
    weights = torch.randn(T, B, D * H, dtype=F64)
    fused = _model_run(model, x, hx, weights)
    with kernels.disabled():
        python = _model_run(model, x, hx, weights)
    assert _max_diff(fused, python) < 1e-12


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_fused_equals_python_float64(cls, bidirectional):
    torch.manual_seed(1)
    I, H = 4, 5
    model = cls(I, H, bidirectional=bidirectional).double()
    D = 2 if bidirectional else 1
    lengths = torch.tensor([9, 4, 7, 1])
    padded = torch.randn(9, 4, I, dtype=F64)
    hx = torch.randn(D, 4, H, dtype=F64, requires_grad=True)

    def run():
        x = padded.clone().requires_grad_()
        packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, h_n = model(packed, hx)
        weights = torch.linspace(-2, 2, out.data.numel(), dtype=F64).view_as(out.data)
        loss = (out.data * weights).sum() + h_n.sum()
        return [out.data, h_n, *torch.autograd.grad(loss, [*model.parameters(), hx, x])]

    fused = run()
    with kernels.disabled():
        python = run()
    assert _max_diff(fused, python) < 1e-12


@pytest.mark.parametrize("G", [2, 3])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_min_layer_gradcheck(G, reverse, masked):
    torch.manual_seed(2)
    T, B, I, H = 6, 2, 3, 4
    x = torch.randn(T, B, I, dtype=F64, requires_grad=True)
    w = (0.8 * torch.randn(G * H, I, dtype=F64)).requires_grad_()
    b = torch.randn(G * H, dtype=F64, requires_grad=True)
    h0 = torch.randn(B, H, dtype=F64, requires_grad=True)
    mask = None
    if masked:  # the second sequence is 4 steps long
        mask = torch.tensor([[1.0, 1.0]] * 4 + [[1.0, 0.0]] * 2, dtype=F64).unsqueeze(-1)
    assert torch.autograd.gradcheck(lambda *a: min_layer(*a, mask, reverse), (x, w, b, h0))
    assert torch.autograd.gradcheck(lambda x, w, h0: min_layer(x, w, None, h0, mask, reverse),
                                    (x, w, h0))


def test_min_layer_without_grad_equals_with_grad():
    torch.manual_seed(3)
    x, w, b, h0 = (torch.randn(50, 2, 3), torch.randn(6, 3), torch.randn(6), torch.randn(2, 3))
    with torch.no_grad():
        quiet = min_layer(x, w, b, h0)
    loud = min_layer(x, w.requires_grad_(), b, h0)
    assert torch.equal(quiet, loud.detach())


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
def test_float32_kernel_close_to_float64(cls):
    """The float32 kernel's own exp (vmath.h) keeps about float precision."""
    torch.manual_seed(4)
    model = cls(16, 32)
    x = torch.randn(300, 4, 16)
    out32 = model(x)[0]
    out64 = model.double()(x.double())[0]
    assert ((out32.double() - out64).abs().max() / out64.abs().max()).item() < 1e-5


def test_large_buffers_on_huge_pages_behave_like_tensors():
    like = torch.empty(0)
    small = torch.ops.rnnkit.min_scan_empty([3, 4], like)
    big = torch.ops.rnnkit.min_scan_empty([9, 1 << 20], like)  # 36 MiB: the huge-page route
    assert small.shape == (3, 4) and big.shape == (9, 1 << 20) and big.is_contiguous()
    big.fill_(0.5)
    assert big.sum().item() == 0.5 * big.numel()
    assert torch.ops.rnnkit.min_scan_empty([5], like.double()).dtype == F64


def test_min_layer_mkl_route_equals_onednn_route(monkeypatch):
    """Above _MMAP_BYTES the projection and dX go to MKL on huge pages, the bias to the kernel."""
    from rnnkit.nn.minimal import fused as module

    torch.manual_seed(5)
    x = torch.randn(200, 4, 32, requires_grad=True)
    w, b = torch.randn(96, 32, requires_grad=True), torch.randn(96, requires_grad=True)
    h0 = torch.randn(4, 32, requires_grad=True)

    def run():
        h = min_layer(x, w, b, h0, None, True)
        return [h, *torch.autograd.grad((h * h).sum(), (x, w, b, h0))]

    onednn = run()
    monkeypatch.setattr(module, "_MMAP_BYTES", 0)
    mkl = run()
    for u, v in zip(onednn, mkl):
        torch.testing.assert_close(u, v, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", [MinGRU, MinLSTM])
def test_mkl_route_equals_python_float64(cls, monkeypatch):
    from rnnkit.nn.minimal import fused as module

    monkeypatch.setattr(module, "_MMAP_BYTES", 0)
    torch.manual_seed(6)
    model = cls(5, 6, bidirectional=True).double()
    x = torch.randn(40, 3, 5, dtype=F64, requires_grad=True)
    hx = torch.randn(2, 3, 6, dtype=F64, requires_grad=True)
    weights = torch.randn(40, 3, 12, dtype=F64)
    fused = _model_run(model, x, hx, weights)
    with kernels.disabled():
        python = _model_run(model, x, hx, weights)
    assert _max_diff(fused, python) < 1e-12


def test_pool_recycles_large_buffers_and_never_shares_a_live_one():
    """kernels/pool.h: a freed buffer of the same byte size comes back on the next call
    (no fresh pages to fault in); two live buffers are always distinct memory."""
    like = torch.empty(0)
    size = [3, (1 << 18) + 7]  # just over 3 MiB of float32 (pooled from 1 MiB up), a size no other test uses
    a = torch.ops.rnnkit.min_scan_empty(size, like)
    a.fill_(1.0)
    first = a.data_ptr()
    b = torch.ops.rnnkit.min_scan_empty(size, like)
    assert b.data_ptr() != first
    del a
    c = torch.ops.rnnkit.min_scan_empty(size, like)
    assert c.data_ptr() == first  # the freed one, recycled
    c.zero_()
    assert b.shape == c.shape == torch.Size(size) and c.sum() == 0
    small = torch.ops.rnnkit.min_scan_empty([4, 4], like)  # below 1 MiB: torch's allocator
    assert small.shape == (4, 4)
