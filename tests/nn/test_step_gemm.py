"""The per-step product's route (nn/gemm.py step_blas_preferred): W_hh^T as contiguous
rows or as a transposed view, BLAS or oneDNN, gives the same LSTM."""
from __future__ import annotations

import pytest
import torch

from rnnkit.nn import LSTM, gemm, kernels

needs_kernels = pytest.mark.skipif(not kernels.available(), reason="fused kernels not built")


@needs_kernels
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_kernel_reads_w_hh_t_as_rows_or_as_a_view(packed, reverse):
    g = torch.Generator().manual_seed(0)
    T, B, H = 6, 5, 40  # 4H·H above the small-GEMM limit: BLAS runs
    G = torch.randn(T, B, 4 * H, generator=g)
    h0, c0 = torch.randn(B, H, generator=g), torch.randn(B, H, generator=g)
    w = torch.randn(4 * H, H, generator=g) * 0.2
    bs = torch.tensor([5, 5, 4, 3, 3, 1]) if packed else None
    view = torch.ops.rnnkit.lstm_forward(G.clone(), h0, c0, w.t(), None, reverse, True, bs, None)
    rows = torch.ops.rnnkit.lstm_forward(G.clone(), h0, c0, w.t().contiguous(), None, reverse, True, bs, None)
    for a, b in zip(view[:3], rows[:3]):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


@needs_kernels
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("route", ["blas", "onednn"])
def test_lstm_training_matches_torch_on_either_route(route, dtype, monkeypatch):
    """BLAS: float32 hands the kernel W_hh^T as a view (it packs W_hh for MKL itself, T >= 8),
    float64 as contiguous rows; oneDNN: the packed weight (float32 only)."""
    monkeypatch.setenv("RNNKIT_STEP_GEMM", route)
    assert gemm.step_blas_preferred() == (route == "blas")
    seen = []
    real = torch.ops.rnnkit.lstm_forward

    def spy(*a):
        seen.append((a[3].is_contiguous(), a[4] is not None))  # W_hh^T as rows? oneDNN weight?
        return real(*a)

    monkeypatch.setattr(torch.ops.rnnkit, "lstm_forward", spy, raising=False)
    torch.manual_seed(0)
    ref = torch.nn.LSTM(16, 256).to(dtype)
    mine = LSTM(16, 256, backend="rnnkit").to(dtype)
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(16, 4, 16, dtype=dtype)  # T = 16: long enough for either packing
    y_ref, _ = ref(x)
    y, _ = mine(x)
    dy = torch.randn_like(y)
    y_ref.backward(dy)
    y.backward(dy)
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-4)
    for name, p in mine.named_parameters():
        torch.testing.assert_close(p.grad, dict(ref.named_parameters())[name].grad, atol=1e-4, rtol=1e-4)
    f64 = dtype == torch.float64
    want = {"blas": (f64, False), "onednn": (False, not f64 and gemm.onednn_available())}[route]
    assert seen == [want]


def test_the_preference_follows_the_cpu_vendor(monkeypatch):
    monkeypatch.delenv("RNNKIT_STEP_GEMM", raising=False)
    monkeypatch.setattr(gemm, "_VENDOR", ["GenuineIntel"])
    assert gemm.step_blas_preferred()
    monkeypatch.setattr(gemm, "_VENDOR", ["AuthenticAMD"])
    assert not gemm.step_blas_preferred()
