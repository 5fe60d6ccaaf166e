"""The LSTM recurrence with layer norm, zoneout and recurrent dropout, backward by hand.

Same numbers as :func:`rnnkit.nn.extensions.sequence.extended_sequence` for mode
"LSTM" (without packing), but autograd records one node for the whole loop instead
of ~25 per step. ``ax`` (T, B, 4H) is the input part of the gates (with its layer norm
and biases), computed by the caller under autograd. Per step (walk order t)::

    h_in = d ⊙ h_{t−1};   u = h_in W_hhᵀ                                (B, 4H)
    û = (u − μ(u)) ρ,  ρ = 1/√(σ²(u) + ε);   a = ax_t + γ_hh ⊙ û + β_hh    (LN, else a = ax_t + u)
    i, f, o = σ(a_i, a_f, a_o);  g = tanh(a_g)
    c̃ = f ⊙ c_{t−1} + i ⊙ g;   ĉ = (c̃ − μ(c̃)) ρ_c;  n = γ_c ⊙ ĉ + β_c     (LN, else n = c̃)
    h̃ = o ⊙ tanh(n)
    h_t = m^h ⊙ h_{t−1} + (1 − m^h) ⊙ h̃;   c_t = m^c ⊙ c_{t−1} + (1 − m^c) ⊙ c̃     (zoneout)

Backward, walking the other way with dh = ∂L/∂y_t + dh_next and dc = dc_next::

    dh̃ = (1 − m^h) dh;   dc̃ = (1 − m^c) dc
    do = dh̃ ⊙ tanh(n);   dn = dh̃ ⊙ o ⊙ (1 − tanh²(n))
    dc̃ += ρ_c (dĉ − mean(dĉ) − ĉ mean(dĉ ⊙ ĉ)),   dĉ = γ_c ⊙ dn     (LN; else dc̃ += dn)
    da = [dc̃ ⊙ g ⊙ i(1−i), dc̃ ⊙ c_{t−1} ⊙ f(1−f), dc̃ ⊙ i ⊙ (1−g²), do ⊙ o(1−o)]
    du = ρ (dû − mean(dû) − û mean(dû ⊙ û)),   dû = γ_hh ⊙ da          (LN; else du = da)
    dh_next = m^h dh + d ⊙ (du W_hh);   dc_next = m^c dc + f ⊙ dc̃

and once for all steps: dW_hh = Σ_t du_tᵀ h_in,t, dγ_hh = Σ da ⊙ û, dβ_hh = Σ da,
dγ_c = Σ dn ⊙ ĉ, dβ_c = Σ dn, ∂L/∂ax = da. In evaluation the zoneout masks are the
constant p.

On CPU in float32/float64, with the fused kernels built, both loops run in C++
(:mod:`.lstm_ext_kernel`); the Python loops below are the fallback and the tests' reference.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn.gemm import StepMatmul  # per-step GEMM, oneDNN-packed when it pays
from rnnkit.nn.bptt import lstm_ext_kernel

__all__ = ["LSTMExtendedFunction", "lstm_extended_sequence"]


_ln = torch.native_layer_norm  # (out, mean, rstd): LN with its statistics kept
_ln_backward = torch.ops.aten.native_layer_norm_backward


class LSTMExtendedFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, ax, h0, c0, w_hh, g_hh, b_hh, g_c, b_c, d, m_h, m_c, eps, reverse, save):
        # save: whether a backward can follow (only the C++ route uses it)
        if lstm_ext_kernel.applies(ax):
            return lstm_ext_kernel.forward(ctx, ax, h0, c0, w_hh, g_hh, b_hh, g_c, b_c, d, m_h, m_c,
                                       eps, reverse, save)
        ctx.fused = False
        T, B, G = ax.shape
        H = G // 4
        ln = g_hh is not None
        order = range(T - 1, -1, -1) if reverse else range(T)
        y = ax.new_empty(T, B, H)
        cs = ax.new_empty(T, B, H)  # c_t after zoneout
        acts = ax.new_empty(T, B, G)  # σ(i), σ(f), tanh(g), σ(o)
        th = ax.new_empty(T, B, H)  # tanh(n)
        u_all = ax.new_empty(T, B, G) if ln else None  # W_hh h_in, before LN
        zoned = m_h is not None
        c_new_all = (ax.new_empty(T, B, H) if zoned else cs) if ln else None  # c̃, before LN
        stats: list = [None] * T  # (μ, ρ) of u and of c̃ per step
        h, c = h0, c0
        matmul = StepMatmul(w_hh.detach(), B, steps=T)
        for t in order:
            h_in = h if d is None else h * d  # (B, H)
            a = acts[t]
            if ln:
                u = matmul.step_bias(None, h_in, out=u_all[t])  # (B, 4H)
                if u is not u_all[t]:
                    u_all[t] = u
                u_ln, mu, rho = _ln(u, (G,), g_hh, b_hh, eps)
                torch.add(ax[t], u_ln, out=a)
            else:
                a_new = matmul.step(ax[t], h_in, out=a)
                if a_new is not a:
                    a.copy_(a_new)
            a[:, 2 * H:3 * H].mul_(2.0)
            a.sigmoid_()
            a[:, 2 * H:3 * H].mul_(2.0).sub_(1.0)  # tanh(a_g) = 2σ(2a_g) − 1
            i, f, g, o = a.chunk(4, dim=-1)  # 4 × (B, H)
            zoned = m_h is not None
            c_new = torch.addcmul(i * g, f, c, out=None if zoned else cs[t])  # c̃
            if ln:
                n, mu_c, rho_c = _ln(c_new, (H,), g_c, b_c, eps)
                stats[t] = (mu, rho, mu_c, rho_c)
                torch.tanh(n, out=th[t])
                if zoned:
                    c_new_all[t] = c_new
            else:
                torch.tanh(c_new, out=th[t])
            if zoned:
                mh = m_h if isinstance(m_h, float) else m_h[t]
                mc = m_c if isinstance(m_c, float) else m_c[t]
                torch.lerp(o * th[t], h, mh, out=y[t])  # h̃ zoned out
                torch.lerp(c_new, c, mc, out=cs[t])
            else:
                torch.mul(o, th[t], out=y[t])  # h̃
            h, c = y[t], cs[t]
        ctx.reverse, ctx.eps = reverse, eps
        ctx.m_h = m_h if isinstance(m_h, float) else None
        ctx.m_c = m_c if isinstance(m_c, float) else None
        ctx.stats = stats
        ctx.save_for_backward(h0, c0, w_hh, g_hh, b_hh, g_c, b_c, d,
                              m_h if isinstance(m_h, Tensor) else None,
                              m_c if isinstance(m_c, Tensor) else None,
                              y, cs, acts, th, u_all, c_new_all)
        return y, h.clone(), c.clone()

    @staticmethod
    def backward(ctx, dy, dh_n, dc_n):
        if ctx.fused:
            return lstm_ext_kernel.backward(ctx, dy, dh_n, dc_n)
        (h0, c0, w_hh, g_hh, b_hh, g_c, b_c, d, mh_t, mc_t, y, cs, acts, th, u_all,
         c_new_all) = ctx.saved_tensors
        stats = ctx.stats
        m_h = mh_t if mh_t is not None else ctx.m_h
        m_c = mc_t if mc_t is not None else ctx.m_c
        reverse = ctx.reverse
        T, B, G = acts.shape
        H = G // 4
        ln = g_hh is not None
        i, f, g, o = acts.chunk(4, dim=-1)  # (T, B, H) views
        du_all = torch.empty_like(acts) if ln else None
        dh = torch.zeros_like(h0) if dh_n is None else dh_n.clone()
        dc = torch.zeros_like(c0) if dc_n is None else dc_n.clone()
        da_all = torch.empty_like(acts)  # ∂L/∂a, also ∂L/∂ax
        dg_hh = db_hh = dg_c = db_c = None
        walk = range(T) if reverse else range(T - 1, -1, -1)
        first = T - 1 if reverse else 0  # step whose previous state is (h0, c0)
        step_back = 1 if reverse else -1
        matmul = StepMatmul(w_hh.detach().t().contiguous(), B, steps=T)  # du ↦ du W_hh
        for t in walk:
            if dy is not None:
                dh = dh + dy[t]
            c_prev = c0 if t == first else cs[t + step_back]
            if m_h is not None:
                mh = m_h if isinstance(m_h, float) else m_h[t]
                mc = m_c if isinstance(m_c, float) else m_c[t]
                dh_keep, dc_keep = dh * mh, dc * mc
                dh_t, dc_t = dh - dh_keep, dc - dc_keep  # (1 − m) ⊙ d·
            else:
                dh_t, dc_t = dh, dc
            # coefficients kept small and per step: they stay in cache
            a_t, th_t = acts[t], th[t]
            slope = torch.addcmul(a_t, a_t, a_t, value=-1.0)  # σ(1 − σ) for i, f, o
            torch.mul(g[t], g[t], out=slope[:, 2 * H:3 * H]).neg_().add_(1.0)  # 1 − tanh² (g)
            da = da_all[t]
            dai, daf, dag, dao = da.chunk(4, dim=-1)
            torch.mul(dh_t, th_t, out=dao)
            dn = torch.mul(th_t, th_t)
            torch.addcmul(o[t], o[t], dn, value=-1.0, out=dn).mul_(dh_t)  # dh̃ o (1 − tanh²)
            if ln:
                mu, rho, mu_c, rho_c = stats[t]
                dc_ln, dg, db = _ln_backward(dn, c_new_all[t], (H,), mu_c, rho_c, g_c, b_c,
                                             (True, True, True))
                dc_t = dc_t + dc_ln
                dg_c = dg if dg_c is None else dg_c.add_(dg)
                db_c = db if db_c is None else db_c.add_(db)
            else:
                dc_t = dc_t + dn
            torch.mul(dc_t, g[t], out=dai)
            torch.mul(dc_t, c_prev, out=daf)
            torch.mul(dc_t, i[t], out=dag)
            da.mul_(slope)
            dc = dc_t * f[t]
            if ln:
                du, dg, db = _ln_backward(da, u_all[t], (G,), mu, rho, g_hh, b_hh,
                                          (True, True, True))
                du_all[t] = du
                dg_hh = dg if dg_hh is None else dg_hh.add_(dg)
                db_hh = db if db_hh is None else db_hh.add_(db)
            else:
                du = da
            dh_in = matmul.step_bias(None, du, out=torch.empty_like(dh))  # du W_hh, (B, H)
            if d is not None:
                dh_in.mul_(d)
            if m_h is not None:
                dh_in.add_(dh_keep)
                dc = dc + dc_keep
            dh = dh_in
        du_all = du_all if ln else da_all  # (T, B, 4H)
        dw_hh = lstm_ext_kernel.recurrent_weight_grad(du_all, h0, y, d, reverse)  # (4H, H)
        return (da_all, dh, dc, dw_hh, dg_hh, db_hh, dg_c, db_c) + (None,) * 6


def lstm_extended_sequence(ax: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor,
                           ln: dict | None, d: Tensor | None, m_h, m_c, eps: float = 1e-5,
                           reverse: bool = False) -> tuple[Tensor, Tensor, Tensor]:
    """ax (T, B, 4H), h0/c0 (B, H) -> y (T, B, H), h_n, c_n; see the module doc."""
    p = (None,) * 4 if ln is None else (ln["ln_gain_hh"], ln["ln_bias_hh"],
                                        ln["ln_gain_c"], ln["ln_bias_c"])
    args = (ax.contiguous(), h0.contiguous(), c0.contiguous(), w_hh, *p)
    save = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in args)
    return LSTMExtendedFunction.apply(*args, d, m_h, m_c, eps, reverse, save)
