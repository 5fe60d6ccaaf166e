"""The fused LSTM loops with the hidden units split over two threads (kernels/lstm_units.h):
equal to the Python loop, forward and backward, and chosen by a fixed rule."""
from __future__ import annotations

import contextlib

import pytest
import torch

from rnnkit.nn import kernels
from rnnkit.nn.bptt import lstm_sequence
from tests.nn.helpers import assert_fused_equals_python

needs_kernels = pytest.mark.skipif(not kernels.available(), reason="fused kernels not built (no compiler)")


@contextlib.contextmanager
def split(mode: int, threads: int = 2):
    """Force the LSTM loops' split (0 = the rule, 1 = batch rows, 2 = units) on ``threads``."""
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    old = torch.ops.rnnkit._lstm_split_mode(mode)
    try:
        yield
    finally:
        torch.ops.rnnkit._lstm_split_mode(old)
        torch.set_num_threads(old_threads)


def _args(T, B, I, H, P=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    P = P or H
    k = H**-0.5  # torch's init scale, so that rounding differences do not grow per step

    def r(*shape, scale=1.0):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * scale).requires_grad_()

    args = [r(T, B, I), r(B, P), r(B, H), r(4 * H, I, scale=k), r(4 * H, P, scale=k), r(4 * H), r(4 * H)]
    if P != H:
        args.append(r(P, H, scale=k))
    weights = [torch.randn(T, B, P, generator=g, dtype=torch.float64), torch.randn(B, P, generator=g,
               dtype=torch.float64), torch.randn(B, H, generator=g, dtype=torch.float64)]
    return args, weights


def _run(args, weights, reverse):
    y, h, c = lstm_sequence(*args, reverse=reverse)
    loss = (y * weights[0]).sum() + (h * weights[1]).sum() + (c * weights[2]).sum()
    return [y, h, c, *torch.autograd.grad(loss, args)]


@needs_kernels
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("T,B,I,H", [(9, 8, 5, 131), (6, 3, 4, 37), (5, 4, 3, 7), (4, 16, 8, 64)])
def test_unit_split_equals_python_loop(T, B, I, H, reverse):
    """Two threads, each with its block of units (multiples of 16 where H allows; odd H =
    131, 37 and 7 leave a ragged last block): the outputs and all seven gradients equal
    the Python loop, and the unit split really ran for the forward and the backward."""
    args, weights = _args(T, B, I, H)
    runs = torch.ops.rnnkit._lstm_unit_split_runs()
    with split(2):
        fused = assert_fused_equals_python(lambda: _run(args, weights, reverse), atol=1e-10)
    assert torch.ops.rnnkit._lstm_unit_split_runs() - runs == 2  # forward and backward
    assert all(torch.isfinite(t).all() for t in fused)


@needs_kernels
@pytest.mark.parametrize("reverse", [False, True])
def test_unit_split_inference_equals_python_loop(reverse):
    """Without autograd (few rows, so lstm_forward without saving rather than lstm_infer):
    the running cell state is updated in place by both threads, each in its columns."""
    args, _ = _args(4, 2, 3, 45)  # T·B = 8: a small call
    args = [a.detach() for a in args]
    runs = torch.ops.rnnkit._lstm_unit_split_runs()
    with split(2), torch.no_grad():
        assert_fused_equals_python(lambda: list(lstm_sequence(*args, reverse=reverse)), atol=1e-12)
    assert torch.ops.rnnkit._lstm_unit_split_runs() - runs == 1


@needs_kernels
def test_unit_split_equals_row_split_float32():
    """float32 at the character LM's H (packed MKL weights per unit block): the unit and
    row splits agree to float rounding."""
    torch.manual_seed(0)
    m = torch.nn.LSTM(16, 512)
    args = [torch.randn(12, 8, 16).requires_grad_(), torch.zeros(8, 512).requires_grad_(),
            torch.zeros(8, 512).requires_grad_(),
            *[p.detach().clone().requires_grad_() for p in m.parameters()]]
    weights = [torch.randn(12, 8, 512), torch.randn(8, 512), torch.randn(8, 512)]
    out = {}
    for mode in (1, 2):
        with split(mode):
            out[mode] = _run(args, weights, False)
    for a, b in zip(out[1], out[2]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@needs_kernels
def test_projections_and_one_thread_keep_the_row_split():
    """proj_size (P != H) and a single thread never take the unit split, even forced."""
    args, weights = _args(6, 4, 3, 20, P=9)
    runs = torch.ops.rnnkit._lstm_unit_split_runs()
    with split(2):
        assert_fused_equals_python(lambda: _run(args, weights, False), atol=1e-10)
    args, weights = _args(6, 4, 3, 20)
    with split(2, threads=1):
        assert_fused_equals_python(lambda: _run(args, weights, False), atol=1e-10)
    assert torch.ops.rnnkit._lstm_unit_split_runs() == runs


@needs_kernels
def test_split_rule():
    """The rule (docs/performance.md, "Splitting the hidden units"): units only on exactly
    two threads, with enough work for two threads at all, and H >= 512 with B <= 32 or
    H >= 1024 with B <= 64 (where W_hh overflows a core's L2 and half of it does not)."""
    rule = torch.ops.rnnkit._lstm_split
    old = torch.ops.rnnkit._lstm_split_mode(0)
    try:
        assert rule(32, 64, 512, 2) == 2  # the character LM's default
        assert rule(4, 64, 512, 2) == 2
        assert rule(64, 64, 1024, 2) == 2
        assert rule(32, 64, 512, 1) == 0
        assert rule(32, 64, 512, 3) == 0
        assert rule(32, 64, 512, 4) == 0
        assert rule(64, 64, 512, 2) == 0  # many rows: 32 per thread already
        assert rule(128, 64, 1024, 2) == 0
        assert rule(32, 64, 384, 2) == 0  # W_hh (2.4 MB) about fits L2: no gain measured
        assert rule(8, 64, 256, 2) == 0
        assert rule(1, 2, 512, 2) == 0  # too little work for two threads
        assert kernels.lstm_split(32, 64, 512, threads=2) == 2
        torch.ops.rnnkit._lstm_split_mode(1)
        assert rule(32, 64, 512, 2) == 0
        torch.ops.rnnkit._lstm_split_mode(2)
        assert rule(64, 64, 64, 2) == 2
        assert rule(64, 64, 64, 1) == 0
    finally:
        torch.ops.rnnkit._lstm_split_mode(old)
