"""Linear recurrences h_t = a_t * h_{t-1} + b_t, run as a chunked scan.

This is the engine under :class:`rnnkit.nn.MinGRU` and :class:`rnnkit.nn.MinLSTM`.
All tensors are time-major: ``a`` and ``b`` are (T, B, H), ``h0`` is (B, H) and the
result ``h`` is (T, B, H) with

    h_t = a_t ⊙ h_{t-1} + b_t,        t = 0 … T-1,   h_{-1} = h0          (forward)
    h_t = a_t ⊙ h_{t+1} + b_t,        t = T-1 … 0,   h_{T}  = h0          (reverse=True)

Why chunks, not a log-space scan
--------------------------------
The log-space scan of the minGRU paper (``logcumsumexp``) is no faster than
``torch.nn.GRU`` on our CPUs and loses about 1e-3 of accuracy in float32 at T=4000
(see benchmarks/RESULTS_extensions.md). A plain loop costs T small kernel launches.
We cut time into K chunks of C steps (C ≈ √T):

1. inside every chunk at once, run the recurrence from a zero state:
   ``l_{k,j} = a_{k,j} ⊙ l_{k,j-1} + b_{k,j}`` — C launches, each over (K, B, H),
   and keep the chunk's product ``P_k = ∏_j a_{k,j}``;
2. walk the chunks in order for the state entering each one:
   ``s_k = l_{k-1,C-1} + P_{k-1} ⊙ s_{k-1}``, ``s_0 = h0`` — K launches on (B, H);
3. ``h_{k,j} = l_{k,j} + (∏_{i≤j} a_{k,i}) ⊙ s_k`` with the product kept running —
   2C launches over (K, B, H).

That is about 5√T launches instead of T, nearly all of them wide vectorised ops, and
only (K, B, H) scratch besides the output: at large T every full-size temporary
costs page faults (fresh allocations above 32 MB are mmapped), so we avoid them.
Only products of the a_t (never quotients) appear, so nothing blows up: when
|a_t| ≤ 1, P can only underflow to zero, which is where the true contribution goes too.
Steps left over when C does not divide T run as a short plain loop.

The backward pass is itself a reverse linear recurrence (written by hand in
:class:`LinearScan`): with ĥ_t = ∂L/∂h_t from outside and g_t the total gradient,

    g_t  = ĥ_t + a_{t+1} ⊙ g_{t+1}                    (g_{T-1} = ĥ_{T-1})
    ∂L/∂b_t = g_t,   ∂L/∂a_t = g_t ⊙ h_{t-1},   ∂L/∂h0 = a_0 ⊙ g_0

(the indices mirror for ``reverse=True``).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn import kernels

__all__ = ["linear_scan", "scan_sequential", "LinearScan", "MinRecurrence", "min_recurrence"]

# Below this length a plain loop is as fast as chunking.
_MIN_CHUNKED_T = 64


def scan_sequential(a: Tensor, b: Tensor, h0: Tensor, reverse: bool = False) -> Tensor:
    """The readable definition: one step at a time, differentiable by autograd."""
    steps_a, steps_b = a.unbind(0), b.unbind(0)  # T × (B, H); unbind keeps backward O(T)
    order = range(len(steps_a) - 1, -1, -1) if reverse else range(len(steps_a))
    h = h0
    out: list[Tensor] = [h0] * len(steps_a)
    for t in order:
        h = torch.addcmul(steps_b[t], steps_a[t], h)  # (B, H)
        out[t] = h
    return torch.stack(out, 0)  # (T, B, H)


def _chunk_size(T: int) -> int:
    return max(1, int(math.isqrt(T)))


def _loop(a: Tensor, b: Tensor, h: Tensor, out: Tensor, reverse: bool) -> Tensor:
    """Plain loop over dim 0 writing into ``out``; returns the last state."""
    T = a.shape[0]
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        torch.addcmul(b[t], a[t], h, out=out[t])  # (B, H)
        h = out[t]
    return h


def _chunked(a: Tensor, b: Tensor, h0: Tensor, out: Tensor, reverse: bool) -> None:
    """Chunked scan of a (T, B, H) recurrence into ``out`` (may be ``b`` itself); no autograd."""
    T = a.shape[0]
    if T < _MIN_CHUNKED_T:
        _loop(a, b, h0, out, reverse)
        return
    C = _chunk_size(T)
    K = T // C
    KC = K * C
    h = h0
    if reverse and KC < T:  # leftover steps come first in reverse order
        h = _loop(a[KC:], b[KC:], h, out[KC:], reverse=True)
    ac = a[:KC].unflatten(0, (K, C))  # (K, C, B, H)
    bc = b[:KC].unflatten(0, (K, C))
    lc = out[:KC].unflatten(0, (K, C))  # local states land in `out`, fixed up in step 3
    js = list(range(C - 1, -1, -1) if reverse else range(C))
    # 1. every chunk at once from a zero state; `run` is the running product of a.
    run = ac[:, js[0]].clone()  # (K, B, H)
    lc[:, js[0]].copy_(bc[:, js[0]])
    for prev, j in zip(js[:-1], js[1:]):
        torch.addcmul(bc[:, j], ac[:, j], lc[:, prev], out=lc[:, j])
        run.mul_(ac[:, j])
    # 2. the state entering each chunk, walking the chunks in order.
    carry = torch.empty_like(run)  # (K, B, H)
    ks = range(K - 1, -1, -1) if reverse else range(K)
    for k in ks:
        carry[k].copy_(h)
        h = torch.addcmul(lc[k, js[-1]], run[k], h)  # (B, H)
    # 3. add the carried-in state, decayed by the running product, to every step.
    for j in js:
        carry.mul_(ac[:, j])  # (K, B, H)
        lc[:, j].add_(carry)
    if not reverse and KC < T:
        _loop(a[KC:], b[KC:], h, out[KC:], reverse=False)


def scan_forward(a: Tensor, b: Tensor, h0: Tensor, reverse: bool = False) -> Tensor:
    """Chunked scan without autograd; returns a new (T, B, H) tensor."""
    a, b = a.contiguous(), b.contiguous()
    out = torch.empty_like(b)
    if a.shape[0]:
        _chunked(a, b, h0, out, reverse)
    return out


class LinearScan(torch.autograd.Function):
    """h = scan(a, b, h0) with the backward written as a reverse scan (see module doc)."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor, reverse: bool) -> Tensor:
        a, b = a.contiguous(), b.contiguous()
        h = scan_forward(a, b, h0, reverse)
        ctx.reverse = reverse
        ctx.save_for_backward(a, h0, h)
        return h

    @staticmethod
    def backward(ctx, dh: Tensor):
        a, h0, h = ctx.saved_tensors
        if a.shape[0] == 0:
            return torch.zeros_like(a), torch.zeros_like(dh), torch.zeros_like(h0), None
        g = _scan_grad(a, h0, dh.contiguous(), ctx.reverse)  # ∂L/∂b = total gradient of h
        da = torch.empty_like(a)  # ∂L/∂a_t = g_t ⊙ h_prev
        if not ctx.reverse:
            torch.mul(g[0], h0, out=da[0])
            torch.mul(g[1:], h[:-1], out=da[1:])  # h_{t-1}
            dh0 = a[0] * g[0]
        else:
            torch.mul(g[-1], h0, out=da[-1])
            torch.mul(g[:-1], h[1:], out=da[:-1])  # h_{t+1}
            dh0 = a[-1] * g[-1]
        return da, g, dh0, None


def linear_scan(a: Tensor, b: Tensor, h0: Tensor, reverse: bool = False) -> Tensor:
    """h_t = a_t ⊙ h_{t∓1} + b_t over dim 0 of (T, B, H) tensors; differentiable.

    ``h0`` is (B, H). Uses the chunked scan with a hand-written backward; equal to
    :func:`scan_sequential` up to rounding.
    """
    if torch.is_grad_enabled() and (a.requires_grad or b.requires_grad or h0.requires_grad):
        return LinearScan.apply(a, b, h0, reverse)
    return scan_forward(a, b, h0, reverse)


# --- the fused minGRU / minLSTM sequence ----------------------------------------------
def _scan_grad(a: Tensor, h0: Tensor, dh: Tensor, reverse: bool) -> Tensor:
    """Total gradient g_t = dh_t + a_{t±1} ⊙ g_{t±1} (a reverse scan), (T, B, H)."""
    T = a.shape[0]
    g = torch.empty_like(dh)
    if not reverse:
        g[T - 1].copy_(dh[T - 1])
        if T > 1:
            _chunked(a[1:], dh[:-1], g[T - 1], g[:-1], reverse=True)
    else:
        g[0].copy_(dh[0])
        if T > 1:
            _chunked(a[:-1], dh[1:], g[0], g[1:], reverse=False)
    return g


def _shifted_diff(h: Tensor, h0: Tensor, cand: Tensor, reverse: bool, out: Tensor) -> Tensor:
    """out = h_prev − h̃, where h_prev is h_{t−1} (h_{t+1} when reverse), (T, B, H)."""
    if not reverse:
        torch.sub(h0, cand[0], out=out[0])
        torch.sub(h[:-1], cand[1:], out=out[1:])
    else:
        torch.sub(h0, cand[-1], out=out[-1])
        torch.sub(h[1:], cand[:-1], out=out[:-1])
    return out


def kernel_applies(t: Tensor, other: Tensor) -> bool:
    """Whether the C++ scan kernel (rnnkit.nn.kernels) can take ``t`` with ``other``:
    CPU, float32/64, one dtype, kernels built."""
    return (
        t.device.type == "cpu"
        and t.dtype in (torch.float32, torch.float64)
        and other.dtype == t.dtype
        and kernels.available()
    )


def kernel_mask(mask: Tensor | None, like: Tensor) -> Tensor | None:
    """The kernel's mask layout: (T, B, 1) -> contiguous (T, B), in the dtype of ``like``."""
    if mask is None:
        return None
    return mask.reshape(mask.shape[0], mask.shape[1]).to(like.dtype).contiguous()


class MinRecurrence(torch.autograd.Function):
    """One layer and direction of MinGRU / MinLSTM from the input projection.

    ``proj`` (T, B, G·H) holds the pre-activations (z, h̃) for G = 2 (minGRU) or
    (f, i, h̃) for G = 3 (minLSTM); ``mask`` is None or (T, B, 1) with 1 on real steps.

        a_t = 1 − z_t = σ(−p_z)                          (minGRU)
        a_t = f_t / (f_t + i_t) = σ(log σ(p_f) − log σ(p_i))   (minLSTM)
        a_t ← m_t a_t + (1 − m_t)                        (padded steps hold the state)
        h̃_t = g(p_h),   h_t = a_t ⊙ h_{t∓1} + (1 − a_t) ⊙ h̃_t

    Backward, with g_t the total gradient of h_t from :func:`_scan_grad`:

        ∂L/∂a_t = g_t ⊙ (h_{t∓1} − h̃_t),   ∂L/∂h̃_t = g_t ⊙ (1 − a_t)
        ∂a/∂p_z = −a(1 − a);  ∂a/∂p_f = a(1 − a) σ(−p_f);  ∂a/∂p_i = −a(1 − a) σ(−p_i)
        g'(p) = 1 if p ≥ 0 else g(1 − g)   (and g ≥ 0.5 exactly when p ≥ 0)

    On padded steps a = 1, so a(1 − a) = 0 and 1 − a = 0: no gradient flows there.

    Where the fused kernels are built (:mod:`rnnkit.nn.kernels`), forward and backward
    each run as one C++ pass over time (``kernels/scan.cpp``); the backward recomputes
    the gates from ``proj`` rather than saving them. The ops below are the fallback,
    and the tests hold the two paths equal.
    """

    @staticmethod
    def forward(ctx, proj: Tensor, h0: Tensor, mask: Tensor | None, reverse: bool) -> Tensor:
        ctx.fused = kernel_applies(proj, h0)
        if ctx.fused:  # the same recurrence in one C++ pass (kernels/scan.cpp)
            h0, mask = h0.contiguous(), kernel_mask(mask, proj)
            h = torch.ops.rnnkit.min_scan_forward(proj, h0, mask, reverse)  # (T, B, H)
            ctx.reverse = reverse
            ctx.save_for_backward(proj, h0, mask, h)
            return h
        G = proj.shape[-1] // h0.shape[-1]
        parts = proj.chunk(G, dim=-1)  # G × (T, B, H), strided views
        pre_h = parts[-1]
        if G == 2:
            a = torch.neg(parts[0]).sigmoid_()  # 1 − σ(p_z)
        else:
            # log σ(p) = −softplus(−p); softplus is ~4× faster than logsigmoid here
            a = F.softplus(-parts[1]).sub_(F.softplus(-parts[0])).sigmoid_()
        if mask is not None:
            a.mul_(mask).sub_(mask).add_(1.0)  # m a + 1 − m
        h = torch.clamp(pre_h, max=0.0)  # scratch: min(p, 0)
        cand = torch.sub(pre_h, h)  # max(p, 0)
        cand.add_(h.sigmoid_())  # g(p) = σ(min(p, 0)) + max(p, 0)
        torch.mul(a, cand, out=h)
        torch.sub(cand, h, out=h)  # b = (1 − a) h̃, scanned in place
        _chunked(a, h, h0, h, reverse)
        ctx.reverse, ctx.G = reverse, G
        ctx.save_for_backward(proj if G == 3 else None, h0, a, cand, h)
        return h

    @staticmethod
    def backward(ctx, dh: Tensor):
        if ctx.fused:  # recomputes the gates from proj; one reverse pass
            proj, h0, mask, h = ctx.saved_tensors
            dproj, dh0, _ = torch.ops.rnnkit.min_scan_backward(
                proj, h0, mask, h, dh.contiguous(), ctx.reverse)
            return dproj, dh0 if ctx.needs_input_grad[1] else None, None, None
        proj, h0, a, cand, h = ctx.saved_tensors
        reverse, G = ctx.reverse, ctx.G
        g = _scan_grad(a, h0, dh.contiguous(), reverse)  # (T, B, H)
        dh0 = None
        if ctx.needs_input_grad[1]:
            dh0 = a[0] * g[0] if not reverse else a[-1] * g[-1]
        dproj = torch.empty(*a.shape[:-1], G * a.shape[-1], dtype=a.dtype, device=a.device)
        dparts = dproj.chunk(G, dim=-1)  # G × (T, B, H) views
        ds = dparts[0] if G == 2 else dparts[-1]  # scratch for ∂L/∂s, with a = σ(s)
        _shifted_diff(h, h0, cand, reverse, out=ds).mul_(g)  # ∂L/∂a
        slope = torch.addcmul(a, a, a, value=-1.0)  # a(1 − a)
        ds.mul_(slope)  # ∂L/∂s
        if G == 2:
            ds.neg_()  # s = −p_z
        else:
            pre_f, pre_i = proj.chunk(3, dim=-1)[:2]
            torch.neg(pre_f, out=dparts[0]).sigmoid_().mul_(ds)
            torch.neg(pre_i, out=dparts[1]).sigmoid_().mul_(ds).neg_()
        g.addcmul_(g, a, value=-1.0)  # ∂L/∂h̃ = g (1 − a)
        # g'(p) = u(1 − u) with u = min(g, 0.5), plus 0.75 where g > 0.5 (p > 0);
        # the step is a clamp of a huge slope, which is much faster here than a bool mask.
        torch.clamp(cand, max=0.5, out=slope)
        slope.addcmul_(slope, slope, value=-1.0)
        torch.sub(cand, 0.5, out=dparts[-1]).mul_(1e30).clamp_(0.0, 0.75)
        dparts[-1].add_(slope).mul_(g)  # ∂L/∂p_h
        return dproj, dh0, None, None


def min_recurrence(proj: Tensor, h0: Tensor, mask: Tensor | None = None,
                   reverse: bool = False) -> Tensor:
    """Differentiable :class:`MinRecurrence`: (T, B, G·H), (B, H) -> h (T, B, H)."""
    proj = proj.contiguous()
    if torch.is_grad_enabled() and (proj.requires_grad or h0.requires_grad):
        return MinRecurrence.apply(proj, h0, mask, reverse)
    with torch.no_grad():
        return MinRecurrence.forward(_NoCtx(), proj, h0, mask, reverse)


class _NoCtx:
    """Stand-in ctx for running MinRecurrence.forward without autograd."""

    def save_for_backward(self, *tensors) -> None:
        pass
