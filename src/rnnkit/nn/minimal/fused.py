"""One MinGRU / MinLSTM layer and direction from its input, on the fused C++ kernel.

:class:`MinLayer` computes the same as ``min_recurrence(F.linear(x, W, b), h0, mask,
reverse)`` (see :class:`rnnkit.nn.minimal.scan.MinRecurrence` for the equations), but owns
the input projection's GEMMs as well as the scan, so that

* the forward projection P = x W^T + b and the backward's ∂L/∂x = dP W run on oneDNN
  with a packed weight where it applies (``rnnkit.nn.gemm.input_projection``; about 1.15×
  MKL's ``addmm`` at our shapes), and ∂L/∂W = dP^T x is one MKL GEMM;
* outputs above 32 MiB (P, h, dP, ∂L/∂x at long T) come from the kernels' buffer pool
  (kernels/pool.h), which recycles them between calls and puts them on transparent huge
  pages, where first-touch page faults would otherwise cost as much as the GEMMs;
* ∂L/∂b comes from sums over time that the backward kernel accumulates on the way,
  instead of a second pass over dP (T, B, G·H);
* only x, P and h are saved: the backward recomputes the gates from P.

Shapes: x (T, B, I), W (G·H, I), b (G·H,) or None, h0 (B, H), mask None or (T, B, 1)
with 1 on real steps; returns h (T, B, H). Used by :mod:`rnnkit.nn.minimal.layers` when
:func:`applies`; otherwise the layer runs ``F.linear`` and ``min_recurrence``, which
the tests hold equal to this.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnkit.nn.gemm import input_projection
from rnnkit.nn.minimal.scan import kernel_applies, kernel_mask

__all__ = ["MinLayer", "min_layer", "applies"]


def applies(x: Tensor, weight: Tensor) -> bool:
    """Whether :func:`min_layer` can run: CPU float32/float64, one dtype, kernels built."""
    return kernel_applies(x, weight)


# glibc serves each allocation above 32 MiB with a fresh mmap, whose first touch costs a
# page fault per 4 KB: about 0.5 ms per MB here, as much as the GEMM that fills it. Such
# outputs come from the kernels' pool (min_scan_empty: recycled, on huge pages) and MKL,
# which can write into them (the kernel then adds the bias); smaller ones go to oneDNN
# (input_projection), ~15% faster than MKL at our shapes.
_MMAP_BYTES = 32 << 20


def _big(rows: int, cols: int, like: Tensor) -> bool:
    return rows * cols * like.element_size() >= _MMAP_BYTES


def _contiguous(t: Tensor) -> Tensor:
    """t.contiguous(), with a large copy on huge pages (e.g. the expanded gradient of a sum)."""
    if t.is_contiguous():
        return t
    return torch.ops.rnnkit.min_scan_empty(list(t.shape), t).copy_(t)


def _project(x: Tensor, weight: Tensor, bias: Tensor | None) -> tuple[Tensor, Tensor | None]:
    """P = x W^T (T, B, G·H), and the bias still to add (None when P includes it)."""
    T, B, I = x.shape
    x2, M = x.reshape(T * B, I), weight.shape[0]
    if not _big(T * B, M, x):
        return input_projection(x2, weight, bias).view(T, B, M), None
    proj = torch.mm(x2, weight.t(), out=torch.ops.rnnkit.min_scan_empty([T * B, M], x))
    return proj.view(T, B, M), None if bias is None else bias.contiguous()


def _grad_input(dproj2: Tensor, weight: Tensor) -> Tensor:
    """∂L/∂x = dP W: (T·B, G·H) @ (G·H, I)."""
    N, I = dproj2.shape[0], weight.shape[1]
    if not _big(N, I, dproj2):
        return input_projection(dproj2, weight.t(), None)  # a projection with the weight W^T
    return torch.mm(dproj2, weight, out=torch.ops.rnnkit.min_scan_empty([N, I], dproj2))


class MinLayer(torch.autograd.Function):
    """h = scan(gates(x W^T + b)) with the hand-written backward described in the module doc."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor,
                mask: Tensor | None, reverse: bool) -> Tensor:
        proj, kernel_bias = _project(x, weight, bias)  # (T, B, G·H)
        h0, mask = h0.contiguous(), kernel_mask(mask, proj)
        h = torch.ops.rnnkit.min_scan_forward(proj, h0, mask, reverse, kernel_bias)  # (T, B, H)
        ctx.reverse = reverse
        ctx.save_for_backward(x, weight, proj, kernel_bias, h0, mask, h)
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx, dh: Tensor):
        x, weight, proj, kernel_bias, h0, mask, h = ctx.saved_tensors
        need_x, need_w, need_b, need_h0 = ctx.needs_input_grad[:4]
        dproj, dh0, dproj_sum = torch.ops.rnnkit.min_scan_backward(
            proj, h0, mask, h, _contiguous(dh), ctx.reverse, kernel_bias
        )  # (T, B, G·H), (B, H), (B, G·H) = Σ_t dproj
        T, B, I = x.shape
        dproj2 = dproj.view(T * B, -1)  # (T·B, G·H)
        d_x = _grad_input(dproj2, weight).view(T, B, I) if need_x else None
        d_w = torch.mm(dproj2.t(), x.reshape(T * B, I)) if need_w else None  # dP^T x  (G·H, I)
        d_b = dproj_sum.sum(0) if need_b else None
        return d_x, d_w, d_b, dh0 if need_h0 else None, None, None


def min_layer(x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor,
              mask: Tensor | None = None, reverse: bool = False) -> Tensor:
    """Differentiable :class:`MinLayer`: x (T, B, I) -> h (T, B, H). Needs :func:`applies`."""
    x = x.contiguous()
    grads = (x.requires_grad or weight.requires_grad or h0.requires_grad
             or (bias is not None and bias.requires_grad))
    if torch.is_grad_enabled() and grads:
        return MinLayer.apply(x, weight, bias, h0, mask, reverse)
    with torch.no_grad():
        proj, kernel_bias = _project(x, weight, bias)
        mask = kernel_mask(mask, proj)
        return torch.ops.rnnkit.min_scan_forward(proj, h0.contiguous(), mask, reverse, kernel_bias)
