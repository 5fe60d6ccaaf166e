"""The C++ route of :class:`.lstm_bptt.LSTMExtendedFunction`: both time loops fused.

``rnnkit/nn/kernels/lstm_ext.cpp`` runs the loops of the module docstring of
:mod:`.lstm_bptt` with one GEMM and one pass over each batch row per step, so layer
norm, gates, zoneout and dropout cost no Python or per-op dispatch. The forward saves
the normalised values û (T, B, 4H), ĉ (T, B, H) and their 1/σ, ρ (T, B) and ρ_c (T, B),
instead of the Python loop's pre-LN values and statistics, and the backward here is
written for what it saves. The sums over all steps (dW_hh and the LN parameters'
gradients) are large ops after the loop, shared with the Python route where they agree::

    dW_hh = Σ_t du_tᵀ h_in,t    dγ_hh = Σ da ⊙ û,  dβ_hh = Σ da    dγ_c = Σ dn ⊙ ĉ,  dβ_c = Σ dn

Used for float32 and float64 CPU tensors when the kernels are built
(:func:`rnnkit.nn.kernels.available`); the Python loop gives the same numbers otherwise.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn import kernels
from rnnkit.nn.bptt._gemm import StepMatmul  # oneDNN-packed weights where they pay

__all__ = ["applies", "forward", "backward", "recurrent_weight_grad"]


def _ops():
    return torch.ops.rnnkit


def applies(ax: Tensor) -> bool:
    """Whether the fused loops run for this input: CPU, float32/64, kernels built."""
    return ax.device.type == "cpu" and ax.dtype in (torch.float32, torch.float64) and kernels.available()


def _zoneout(m_h, m_c):
    """(mask tensors or None, on, constants) for the kernel's arguments."""
    if m_h is None:
        return None, None, False, 0.0, 0.0
    if isinstance(m_h, float):
        return None, None, True, m_h, float(m_c)
    return m_h.contiguous(), m_c.contiguous(), True, 0.0, 0.0


def forward(ctx, ax, h0, c0, w_hh, g_hh, b_hh, g_c, b_c, d, m_h, m_c, eps, reverse):
    """The forward of LSTMExtendedFunction in C++; saves for :func:`backward` when it will run."""
    T, B, _ = ax.shape
    w = w_hh.detach()
    packed = StepMatmul(w, B, steps=T).packed  # W_hh for oneDNN, or None (MKL)
    mh, mc, zoned, p_h, p_c = _zoneout(m_h, m_c)
    d = None if d is None else d.contiguous()
    save = any(ctx.needs_input_grad)
    out = _ops().lstm_ext_forward(ax, h0, c0, w.t(), packed, g_hh, b_hh, g_c, b_c, d, mh, mc,
                                  zoned, p_h, p_c, eps, reverse, save)
    y, cs = out[0], out[1]  # (T, B, H); cs (T, B, H) when saving, else c_n (B, H)
    last = 0 if reverse else T - 1
    ctx.fused = save
    if not save:
        return y, y[last].clone(), cs
    acts, th, uhat, rho, chat, rho_c = out[2:]
    ctx.reverse, ctx.zoneout = reverse, (zoned, p_h, p_c)
    ctx.save_for_backward(h0, c0, w_hh, g_hh, g_c, d, mh, mc, y, cs, acts, th, uhat, rho, chat, rho_c)
    return y, y[last].clone(), cs[last].clone()


def recurrent_weight_grad(du: Tensor, h0: Tensor, y: Tensor, d: Tensor | None, reverse: bool) -> Tensor:
    """dW_hh = Σ_t du_tᵀ h_in,t (4H, H), h_in,t = d ⊙ h_{t−1}, without building the shifted h."""
    T, B, G = du.shape
    H = h0.shape[1]
    first = T - 1 if reverse else 0  # the step whose previous state is h0
    first_in = h0 if d is None else h0 * d
    rest_in = y[1:] if reverse else y[:-1]  # (T − 1, B, H)
    if d is not None:
        rest_in = rest_in * d
    du_rest = (du[:-1] if reverse else du[1:]).reshape(-1, G)  # ((T − 1)·B, 4H)
    return torch.addmm(du[first].t() @ first_in, du_rest.t(), rest_in.reshape(-1, H))


def backward(ctx, dy, dh_n, dc_n):
    """The backward through all steps in C++, then the sums over steps as large ops."""
    h0, c0, w_hh, g_hh, g_c, d, mh, mc, y, cs, acts, th, uhat, rho, chat, rho_c = ctx.saved_tensors
    T, B, G = acts.shape
    needs = ctx.needs_input_grad
    w = w_hh.detach()
    packed = StepMatmul(w.t().contiguous(), B, steps=T).packed  # du ↦ du W_hh on oneDNN, or None
    zoned, p_h, p_c = ctx.zoneout
    dh_n = torch.zeros_like(h0) if dh_n is None else dh_n.contiguous()
    dc_n = torch.zeros_like(c0) if dc_n is None else dc_n.contiguous()
    dy = None if dy is None else dy.contiguous()
    da, du, dn, dh0, dc0 = _ops().lstm_ext_backward(
        dy, dh_n, dc_n, c0, w, packed, g_hh, g_c, d, mh, mc, zoned, p_h, p_c,
        cs, acts, th, uhat, rho, chat, rho_c, ctx.reverse)
    dw_hh = recurrent_weight_grad(du, h0, y, d, ctx.reverse) if needs[3] else None
    dg_hh = db_hh = dg_c = db_c = None
    if g_hh is not None:
        rows_a, rows_n = da.view(-1, G), dn.view(-1, G // 4)  # (T·B, 4H), (T·B, H)
        dg_hh = (rows_a * uhat.view(-1, G)).sum(0) if needs[4] else None
        db_hh = rows_a.sum(0) if needs[5] else None
        dg_c = (rows_n * chat.view(-1, G // 4)).sum(0) if needs[6] else None
        db_c = rows_n.sum(0) if needs[7] else None
    return (da, dh0, dc0, dw_hh, dg_hh, db_hh, dg_c, db_c,
            None, None, None, None, None)
