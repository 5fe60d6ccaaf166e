"""The C++ route of the extended LSTM: both time loops fused (``kernels/lstm_ext.cpp``).

The kernel runs the loops of the module docstring of :mod:`.lstm_ext` with one GEMM and
one pass over each batch row per step, so layer norm, gates, zoneout and dropout cost
no Python or per-op dispatch. It saves the normalised values û (T, B, 4H), ĉ (T, B, H)
and their 1/σ, ρ and ρ_c (T, B), rather than the Python loop's pre-LN values, and its
backward is written for what it saves. It also sums the LN parameters' gradients over
the steps, per batch row, inside the loop::

    dγ_hh = Σ da ⊙ û,  dβ_hh = Σ da,  dγ_c = Σ dn ⊙ ĉ,  dβ_c = Σ dn,  dW_hh = Σ_t du_tᵀ h_in,t

(dW_hh is one large GEMM after the loop, shared with the Python route).

Two entry points:

* :func:`forward` / :func:`backward`, the fused route of ``LSTMExtendedFunction`` (its
  input ``ax`` is the finished input part of the gates);
* :func:`ln_lstm_sequence`, for layer norm: the kernel also normalises the input part,
  row by row, from ``xw = x W_ihᵀ`` (and back-propagates through that LN), which saves
  three (T, B, 4H) tensors and their autograd ops per call. There, with all constant
  shifts summed into s = β_ih + b_ih + b_hh + β_hh::

      a_t = γ_ih ⊙ x̂_t + γ_hh ⊙ û_t + s,   x̂_t = (xw_t − μ) / √(σ² + ε)

Used for float32 and float64 CPU tensors when the kernels are built
(:func:`rnnkit.nn.kernels.available`); the Python loops give the same numbers otherwise.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn import kernels
from rnnkit.nn.gemm import StepMatmul  # oneDNN-packed weights where they pay

__all__ = ["applies", "forward", "backward", "recurrent_weight_grad", "ln_lstm_sequence"]


def _ops():
    return torch.ops.rnnkit


def applies(x: Tensor) -> bool:
    """Whether the fused loops run for this input: CPU, float32/64, kernels built."""
    floating = x.dtype in (torch.float32, torch.float64)
    return x.device.type == "cpu" and floating and kernels.available()


def _zoneout(m_h, m_c):
    """(mask tensors or None, on, constants) for the kernel's arguments."""
    if m_h is None:
        return None, None, False, 0.0, 0.0
    if isinstance(m_h, float):
        return None, None, True, m_h, float(m_c)
    return m_h.contiguous(), m_c.contiguous(), True, 0.0, 0.0


def _forward(ctx, ax, h0, c0, w_hh, g_ih, g_hh, b_hh, g_c, b_c, d, m_h, m_c, eps, reverse, save):
    """Run the forward kernel; keep what the backward needs in ctx when ``save``."""
    T, B, _ = ax.shape
    w = w_hh.detach()
    packed = StepMatmul(w, B, steps=T).packed  # W_hh for oneDNN, or None (MKL)
    mh, mc, zoned, p_h, p_c = _zoneout(m_h, m_c)
    d = None if d is None else d.contiguous()
    out = _ops().lstm_ext_forward(ax, h0.contiguous(), c0.contiguous(), w.t(), packed, g_ih, g_hh,
                                  b_hh, g_c, b_c, d, mh, mc, zoned, p_h, p_c, eps, reverse, save)
    y, cs = out[0], out[1]  # (T, B, H); cs (T, B, H) when saving, else c_n (B, H)
    last = 0 if reverse else T - 1
    ctx.fused = save
    if not save:
        return y, y[last].clone(), cs
    ctx.reverse, ctx.zoneout = reverse, (zoned, p_h, p_c)
    xw = ax if g_ih is not None else None  # the backward of the input LN reads x W_ihᵀ
    ctx.save_for_backward(xw, h0, c0, w_hh, g_ih, g_hh, g_c, d, mh, mc, y, cs, *out[2:])
    return y, y[last].clone(), cs[last].clone()


def _backward(ctx, dy, dh_n, dc_n):
    """Run the backward kernel: (d ax, dh0, dc0, dW_hh, dγ_hh, dβ_hh, dγ_c, dβ_c, dγ_ih)."""
    (xw, h0, c0, w_hh, g_ih, g_hh, g_c, d, mh, mc, y, cs, acts, th, uhat, rho, chat, rho_c,
     mu_ih, rho_ih) = ctx.saved_tensors
    T, B, _ = acts.shape
    w = w_hh.detach()
    packed = StepMatmul(w.t().contiguous(), B, steps=T).packed  # du ↦ du W_hh on oneDNN, or None
    zoned, p_h, p_c = ctx.zoneout
    dh_n = torch.zeros_like(h0) if dh_n is None else dh_n.contiguous()
    dc_n = torch.zeros_like(c0) if dc_n is None else dc_n.contiguous()
    dy = None if dy is None else dy.contiguous()
    da, du, dh0, dc0, *sums = _ops().lstm_ext_backward(
        dy, dh_n, dc_n, c0, w, packed, xw, g_ih, g_hh, g_c, d, mh, mc, zoned, p_h, p_c,
        cs, acts, th, uhat, rho, chat, rho_c, mu_ih, rho_ih, ctx.reverse)
    dw_hh = recurrent_weight_grad(du, h0, y, d, ctx.reverse)
    sums = [s if s.numel() else None for s in sums]
    return (da, dh0, dc0, dw_hh, *sums)


def forward(ctx, ax, h0, c0, w_hh, g_hh, b_hh, g_c, b_c, d, m_h, m_c, eps, reverse, save):
    """The forward of LSTMExtendedFunction in C++ (history kept only when ``save``)."""
    return _forward(ctx, ax, h0, c0, w_hh, None, g_hh, b_hh, g_c, b_c, d, m_h, m_c, eps, reverse,
                    save)


def backward(ctx, dy, dh_n, dc_n):
    """The backward of LSTMExtendedFunction in C++: its 14 input gradients."""
    da, dh0, dc0, dw_hh, dg_hh, db_hh, dg_c, db_c, _ = _backward(ctx, dy, dh_n, dc_n)
    return (da, dh0, dc0, dw_hh, dg_hh, db_hh, dg_c, db_c) + (None,) * 6


def recurrent_weight_grad(du: Tensor, h0: Tensor, y: Tensor, d: Tensor | None,
                          reverse: bool) -> Tensor:
    """dW_hh = Σ_t du_tᵀ h_in,t (4H, H), h_in,t = d ⊙ h_{t−1}, without the shifted h."""
    T, B, G = du.shape
    H = h0.shape[1]
    first = T - 1 if reverse else 0  # the step whose previous state is h0
    first_in = h0 if d is None else h0 * d
    rest_in = y[1:] if reverse else y[:-1]  # (T − 1, B, H)
    if d is not None:
        rest_in = rest_in * d
    du_rest = (du[:-1] if reverse else du[1:]).reshape(-1, G)  # ((T − 1)·B, 4H)
    return torch.addmm(du[first].t() @ first_in, du_rest.t(), rest_in.reshape(-1, H))


class LNLSTMKernelFunction(torch.autograd.Function):
    """The LN-LSTM over a sequence from xw = x W_ihᵀ, input LN included (see the module doc)."""

    @staticmethod
    def forward(ctx, xw, h0, c0, w_hh, g_ih, g_hh, shift, g_c, b_c, d, m_h, m_c, eps, reverse,
                save):
        return _forward(ctx, xw, h0, c0, w_hh, g_ih, g_hh, shift, g_c, b_c, d, m_h, m_c, eps,
                        reverse, save)

    @staticmethod
    def backward(ctx, dy, dh_n, dc_n):
        dxw, dh0, dc0, dw_hh, dg_hh, dshift, dg_c, db_c, dg_ih = _backward(ctx, dy, dh_n, dc_n)
        return (dxw, dh0, dc0, dw_hh, dg_ih, dg_hh, dshift, dg_c, db_c) + (None,) * 6


def ln_lstm_sequence(x: Tensor, w_ih: Tensor, b_ih: Tensor | None, b_hh: Tensor | None, ln: dict,
                     h0: Tensor, c0: Tensor, w_hh: Tensor, d: Tensor | None, m_h, m_c,
                     eps: float = 1e-5, reverse: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """x (T, B, I) -> y (T, B, H), h_n, c_n: the same numbers as ``input_part`` followed by
    ``lstm_extended_sequence``, with the input LN done inside the kernel."""
    xw = F.linear(x, w_ih).contiguous()  # (T, B, 4H)
    shift = ln["ln_bias_ih"] + ln["ln_bias_hh"]  # (4H)
    for b in (b_ih, b_hh):
        if b is not None:
            shift = shift + b
    args = (xw, h0, c0, w_hh, ln["ln_gain_ih"], ln["ln_gain_hh"], shift, ln["ln_gain_c"],
            ln["ln_bias_c"])
    save = torch.is_grad_enabled() and any(t.requires_grad for t in args)
    return LNLSTMKernelFunction.apply(*args, d, m_h, m_c, eps, reverse, save)
