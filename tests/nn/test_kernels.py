"""The fused C++ loops of rnnkit.nn.kernels: they build here, and equal the Python loops."""
from __future__ import annotations

import contextlib
import shutil

import pytest
import torch

from rnnkit.nn import LSTM, kernels
from rnnkit.nn.bptt import gru_sequence, lstm_sequence, rnn_sequence
from tests.nn.helpers import assert_fused_equals_python

needs_kernels = pytest.mark.skipif(
    not kernels.available(), reason="fused kernels not built (no compiler)"
)


def test_kernels_build_wherever_a_compiler_exists():
    if shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler on this machine")
    kernels._ninja_on_path()
    if shutil.which("ninja") is None:
        pytest.skip("no ninja (pip install 'rnnkit[kernels]')")
    assert kernels.available(), "a C++ compiler exists but rnnkit.nn.kernels did not build"
    assert (kernels.build_directory() / "rnnkit_kernels.so").exists()


def test_disabled_turns_them_off():
    with kernels.disabled():
        assert not kernels.available()


def _lstm_case(dtype, reverse, T=7, B=3, I=4, H=5, seed=0):
    g = torch.Generator().manual_seed(seed)

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_()

    return [r(T, B, I), r(B, H), r(B, H), r(4 * H, I), r(4 * H, H), r(4 * H), r(4 * H)], reverse


def _run(args, reverse, weights):
    y, h, c = lstm_sequence(*args, reverse=reverse)
    loss = (y * weights[0]).sum() + (h * weights[1]).sum() + (c * weights[2]).sum()
    return [y, h, c, *torch.autograd.grad(loss, args)]


@needs_kernels
@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_fused_equals_python_loop_float64(reverse):
    args, reverse = _lstm_case(torch.float64, reverse)
    T, B, H = 7, 3, 5
    weights = [torch.randn(T, B, H, dtype=torch.float64), torch.randn(B, H, dtype=torch.float64),
               torch.randn(B, H, dtype=torch.float64)]
    assert_fused_equals_python(lambda: _run(args, reverse, weights))


@needs_kernels
def test_lstm_fused_float32_close_to_float64():
    """The float32 kernel's own exp (vmath.h) keeps about float precision."""
    torch.manual_seed(0)
    m = LSTM(16, 32, num_layers=2, backend="rnnkit")
    x = torch.randn(50, 8, 16) * 3  # large pre-activations exercise the exp's whole range
    with torch.inference_mode():
        y32 = m(x)[0]
        y64 = m.double()(x.double())[0]
    assert (y32.double() - y64).abs().max().item() < 2e-6


@needs_kernels
def test_lstm_fused_gradcheck():
    args, reverse = _lstm_case(torch.float64, False, T=4, B=2, I=3, H=3)
    assert torch.autograd.gradcheck(lambda *a: lstm_sequence(*a), args)


@needs_kernels
def test_nan_propagates_like_torch():
    m = LSTM(3, 4, backend="rnnkit")
    x = torch.randn(5, 2, 3)
    x[2, 0, 1] = float("nan")
    with torch.inference_mode():
        y = m(x)[0]
    assert torch.isnan(y[2:, 0]).all()
    assert not torch.isnan(y[:, 1]).any() and not torch.isnan(y[:2]).any()


@needs_kernels
@pytest.mark.parametrize("x_value", [-1e4, 1e4])
def test_saturated_gates_stay_finite(x_value):
    m = LSTM(2, 3, backend="rnnkit")
    ref = torch.nn.LSTM(2, 3)
    ref.load_state_dict(m.state_dict())
    x = torch.full((4, 1, 2), x_value)
    with torch.inference_mode():
        torch.testing.assert_close(m(x)[0], ref(x)[0], rtol=0, atol=1e-6)


def _gru_rnn_case(kind, T=6, B=5, I=4, H=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    G = 3 if kind == "gru" else 1

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_()

    return [r(T, B, I), r(B, H), r(G * H, I), r(G * H, H), r(G * H), r(G * H)]


@needs_kernels
@pytest.mark.parametrize("kind", ["gru", "tanh", "relu"])
@pytest.mark.parametrize("reverse", [False, True])
def test_gru_rnn_fused_equal_python_loops_float64(kind, reverse):
    args = _gru_rnn_case(kind)

    def run():
        if kind == "gru":
            y, h = gru_sequence(*args, reverse=reverse)
        else:
            y, h = rnn_sequence(*args, nonlinearity=kind, reverse=reverse)
        w = torch.linspace(-1, 1, y.numel(), dtype=torch.float64).view_as(y)
        loss = (y * w).sum() + (h * h).sum()
        return [y, h, *torch.autograd.grad(loss, args)]

    assert_fused_equals_python(run)


@needs_kernels
@pytest.mark.parametrize("kind", ["gru", "tanh", "relu"])
def test_gru_rnn_fused_gradcheck(kind):
    args = _gru_rnn_case(kind, T=3, B=2, I=2, H=3)
    if kind == "gru":
        assert torch.autograd.gradcheck(lambda *a: gru_sequence(*a), args)
    else:
        assert torch.autograd.gradcheck(lambda *a: rnn_sequence(*a, nonlinearity=kind), args)


@needs_kernels
@pytest.mark.parametrize("threads", [1, 3])
def test_row_blocks_cover_every_row(threads):
    """The batch is split over threads (common.h) once a call has enough work (here
    T·B·3H² ≥ 2^22 multiply-adds); odd sizes and more threads than rows still give
    torch's numbers."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for B in (1, 2, 7):
            ref = torch.nn.GRU(3, 200).double()
            from rnnkit.nn import GRU

            m = GRU(3, 200, backend="rnnkit").double()
            m.load_state_dict(ref.state_dict())
            x = torch.randn(20, B, 3, dtype=torch.float64)
            assert kernels.rows_per_thread(B, 20, 3 * 200 * 200) == -(-B // min(threads, B))
            torch.testing.assert_close(m(x)[0], ref(x)[0], rtol=0, atol=1e-12)
    finally:
        torch.set_num_threads(old)


@needs_kernels
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_inference_kernel_equals_python_loop(reverse, bias):
    """Without gradients the LSTM runs lstm_infer (one GEMM on [x_t, h_{t-1}] per step)."""
    args, _ = _lstm_case(torch.float64, reverse, T=9, B=4, I=3, H=6)
    args = [a.detach() for a in args]
    if not bias:
        args[5] = args[6] = None
    with torch.no_grad():
        fused = lstm_sequence(*args, reverse=reverse)
        with kernels.disabled():
            python = lstm_sequence(*args, reverse=reverse)
    for a, b in zip(fused, python):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@contextlib.contextmanager
def gemm_route(route: str):
    """Make the kernels' per-step GEMMs take one route: "blas", "aten" or "small"."""
    old_blas = torch.ops.rnnkit._use_blas(route != "aten")
    old_limit = torch.ops.rnnkit._small_gemm(1 << 30 if route == "small" else 0)
    try:
        yield
    finally:
        torch.ops.rnnkit._use_blas(old_blas)
        torch.ops.rnnkit._small_gemm(old_limit)


@needs_kernels
@pytest.mark.parametrize("route", ["aten", "small"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gemm_routes_agree(dtype, route):
    """The ATen route (builds whose torch exports no sgemm_/dgemm_) and the kernels' own
    small-matrix loops (N·K up to 1024 by default) give what the BLAS route gives.

    Hidden sizes 5 and 16 (LSTM: N = 64, the widest padded block) cover a remainder
    and an exact multiple of the vector width; input size 3 and the second layer's 2·H
    cover K below and above H."""
    from rnnkit.nn import GRU, LSTM, RNN

    def run():
        outs = []
        for cls in (LSTM, GRU, RNN):
            for H in (5, 16):
                torch.manual_seed(1)
                m = cls(3, H, num_layers=2, bidirectional=True, backend="rnnkit").to(dtype)
                x = torch.randn(6, 4, 3, dtype=dtype, requires_grad=True)
                y = m(x)[0]
                outs += [y, *torch.autograd.grad(y.sin().sum(), [x, *m.parameters()])]
                with torch.no_grad():
                    outs.append(m(x)[0])
        return outs

    with gemm_route("blas"):
        blas = run()
    with gemm_route(route):
        other = run()
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    for a, b in zip(blas, other):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)


def test_a_venvs_own_ninja_is_found_without_activation(monkeypatch, tmp_path):
    """cpp_extension runs `ninja` from PATH; a venv's ninja sits beside its python."""
    import sysconfig

    scripts = sysconfig.get_path("scripts")
    if not scripts or shutil.which("ninja", path=scripts) is None:
        pytest.skip("no ninja in this environment's scripts folder")
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no ninja on PATH
    assert shutil.which("ninja") is None
    kernels._ninja_on_path()
    assert shutil.which("ninja") is not None


@needs_kernels
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("grad", [True, False])
@pytest.mark.parametrize("threads,H", [(1, 5), (1, 12), (3, 130)])
def test_packed_lstm_fused_equals_python_loop(reverse, grad, threads, H):
    """Packed input (batch_sizes) runs the fused LSTM loops: rows [:b_t] step, the others
    hold; reversed, rows join late from h0/c0. H = 5 takes the small-H flat gate loops;
    H = 130 with B·T·4H² ≥ 2^22 splits the rows over three threads, so row blocks end
    part-way through the active rows. Outputs and every gradient equal the Python loop
    (float64, to rounding)."""
    lengths = [9, 9, 7, 4, 4, 2, 1, 0]
    T, B, I = lengths[0], len(lengths), 3
    batch_sizes = [sum(L > t for L in lengths) for t in range(T)]
    args, _ = _lstm_case(torch.float64, reverse, T=T, B=B, I=I, H=H, seed=3)
    if not grad:
        args = [a.detach() for a in args]
    g = torch.Generator().manual_seed(4)
    weights = [torch.randn(T, B, H, generator=g, dtype=torch.float64) for _ in range(3)]

    def run():
        y, h, c = lstm_sequence(*args, batch_sizes=batch_sizes, reverse=reverse)
        if not grad:
            return [y, h, c]
        loss = (y * weights[0]).sum() + (h * weights[1][0]).sum() + (c * weights[2][0]).sum()
        return [y, h, c, *torch.autograd.grad(loss, args)]

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        if threads > 1:
            assert kernels.rows_per_thread(B, T, 4 * H * H) < B  # the split is exercised
        # H = 130: gradients reach ~1e3 and sums of 520 products differ in order: 1e-12 relative
        fused = assert_fused_equals_python(run, atol=1e-12 if H < 100 else 1e-9)
    finally:
        torch.set_num_threads(old)
    y = fused[0]
    for r, L in enumerate(lengths):  # padding stays 0
        assert (y[L:, r] == 0).all()


@needs_kernels
def test_packed_lstm_layer_takes_the_fused_loop(monkeypatch):
    """A PackedSequence through rnnkit.nn.LSTM reaches torch.ops.rnnkit.lstm_forward and
    lstm_backward with its batch sizes (the Python loop would call neither)."""
    from torch.nn.utils.rnn import pack_padded_sequence

    calls = []
    ops = torch.ops.rnnkit
    for name in ("lstm_forward", "lstm_backward"):
        real = getattr(ops, name)

        def spy(*a, _real=real, _name=name, _at={"lstm_forward": 7, "lstm_backward": 10}[name]):
            calls.append((_name, a[_at] is not None))  # the batch_sizes argument
            return _real(*a)

        monkeypatch.setattr(ops, name, spy, raising=False)
    m = LSTM(3, 6, backend="rnnkit")
    x = pack_padded_sequence(torch.randn(5, 3, 3), [5, 3, 2])
    y, _ = m(x)
    y.data.sum().backward()
    assert calls == [("lstm_forward", True), ("lstm_backward", True)]


@needs_kernels
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("threads,H,P", [(1, 6, 4), (3, 130, 64)])
def test_projected_lstm_fused_equals_python_loop(reverse, packed, threads, H, P):
    """proj_size runs the fused loops too: r_t = o tanh(c_t), h_t = r_t W_hr^T per step,
    and backward dr = dh_t W_hr with every dh_t kept for dW_hr. Equal to the Python loop
    in outputs and in all eight gradients, padded or packed, either direction, and with
    the rows split over three threads."""
    lengths = [9, 9, 9, 8, 7, 7, 6, 5, 3, 3, 1, 0] if threads > 1 else [7, 7, 6, 3, 1, 0]
    lengths = lengths if packed else [lengths[0]] * len(lengths)
    T, B, I = lengths[0], len(lengths), 3
    batch_sizes = [sum(L > t for L in lengths) for t in range(T)] if packed else None
    g = torch.Generator().manual_seed(5)

    def r(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).requires_grad_()

    k = H**-0.5  # torch's init scale: with unit weights at H = 130 the recurrence is chaotic
    # and rounding differences grow 10x per step
    args = [r(T, B, I), r(B, P), r(B, H), r(4 * H, I, scale=k), r(4 * H, P, scale=k), r(4 * H),
            r(4 * H), r(P, H, scale=k)]
    weights = [torch.randn(T, B, P, generator=g, dtype=torch.float64), torch.randn(B, P, generator=g,
               dtype=torch.float64), torch.randn(B, H, generator=g, dtype=torch.float64)]

    def run():
        y, h, c = lstm_sequence(*args, batch_sizes=batch_sizes, reverse=reverse)
        loss = (y * weights[0]).sum() + (h * weights[1]).sum() + (c * weights[2]).sum()
        with torch.no_grad():
            y2, h2, c2 = lstm_sequence(*args, batch_sizes=batch_sizes, reverse=reverse)
        return [y, h, c, y2, h2, c2, *torch.autograd.grad(loss, args)]

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        if threads > 1:
            assert kernels.rows_per_thread(B, T, 4 * H * P + P * H) < B
        assert_fused_equals_python(run, atol=1e-12 if H < 100 else 1e-9)
    finally:
        torch.set_num_threads(old)


@needs_kernels
def test_projected_lstm_gradcheck_on_the_fused_loop():
    g = torch.Generator().manual_seed(6)

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_()

    T, B, I, H, P = 4, 3, 2, 3, 2
    args = [r(T, B, I), r(B, P), r(B, H), r(4 * H, I), r(4 * H, P), r(4 * H), r(4 * H), r(P, H)]
    assert torch.autograd.gradcheck(lambda *a: lstm_sequence(*a, batch_sizes=[3, 2, 2, 1]), args)
    assert torch.autograd.gradcheck(lambda *a: lstm_sequence(*a, reverse=True), args)
