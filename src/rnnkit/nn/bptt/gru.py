"""GRU layer-direction with a hand-written backward through time.

Forward, per step (gates r, z, n in torch's order, r inside n as in torch)::

    u_t = W_ih x_t + b_ih                        (B, 3H), hoisted: one GEMM for all t
    v_t = W_hh h_{t-1} + b_hh                    (B, 3H), one GEMM per step
    r = σ(u_r + v_r);   z = σ(u_z + v_z);   n = tanh(u_n + r ⊙ v_n)
    h_t = (1 - z) ⊙ n + z ⊙ h_{t-1} = lerp(n, h_{t-1}, z)

The n rows of both weights and biases are doubled once per call so that
tanh(a) = 2σ(2a) - 1 replaces the slow tanh by a sigmoid.

Backward, per step in reverse processing order (dh_t includes dy_t)::

    dv_t = dh_t ⊙ [ (1-z)(1-n²) v_n r(1-r),   (h_{t-1} - n) z(1-z),   (1-z)(1-n²) r ]
    dh_{t-1} += dh_t ⊙ z + dv_t W_hh

The bracket depends on the forward pass only (computed for all T at once), so the
loop is three ops. After it du = dv with its n block replaced by dh ⊙ (1-z)(1-n²),
and dW_ih = du^T x, dW_hh = dv^T h_prev, dx = du W_ih, db_ih = Σ du, db_hh = Σ dv are
single GEMMs or sums over all T·B rows.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn.bptt._autograd import gru_loop, recompute_grads
from rnnkit.nn.bptt._gemm import StepMatmul
from rnnkit.nn.bptt._schedule import Schedule

__all__ = ["gru_sequence"]


def _doubled_n(t: Tensor | None) -> Tensor | None:
    """A copy of a (3H, …) weight or bias with its n block doubled."""
    if t is None:
        return None
    H = t.shape[0] // 3
    out = t.detach().clone()
    out[2 * H :] *= 2
    return out


def _forward(x, h0, w_ih, w_hh, b_ih, b_hh, sched: Schedule, save: bool):
    T, B, I = x.shape
    H = w_hh.shape[0] // 3
    w_ih_s, w_hh_s, b_ih_s, b_hh_s = map(_doubled_n, (w_ih, w_hh, b_ih, b_hh))
    x2 = x.reshape(T * B, I)
    U = torch.mm(x2, w_ih_s.t()) if b_ih_s is None else torch.addmm(b_ih_s, x2, w_ih_s.t())
    U = U.view(T, B, 3 * H)  # u_t, then r, z, n in place
    new = x.new_zeros if sched.packed else x.new_empty
    y = new(T, B, H)
    V = new(T, B, 3 * H) if save else x.new_empty(B, 3 * H)  # v_t (n block doubled)
    rec = StepMatmul(w_hh_s, B, onednn=not sched.packed, steps=T)
    neg1 = x.new_tensor(-1.0)
    h0d = h0.detach()

    for t in sched.order:
        b = sched.bs[t]
        if b == 0:
            continue
        if sched.is_first(t):
            hp = h0d[:b]
        else:
            tp = sched.prev(t)
            bp = sched.bs[tp]
            hp = y[tp, :b] if b <= bp else torch.cat([y[tp, :bp], h0d[bp:b]])
        v_out = V[t, :b] if save else V[:b]
        v = rec.step_bias(b_hh_s, hp, out=v_out)  # v_t                  (b, 3H)
        if save and v.data_ptr() != v_out.data_ptr():
            v_out[:, 2 * H :] = v[:, 2 * H :]  # backward needs v_n
        gates = U[t, :b]  # (b, 3H)
        rz = gates[:, : 2 * H]
        rz.add_(v[:, : 2 * H]).sigmoid_()  # r, z
        r, z, n = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
        n.addcmul_(r, v[:, 2 * H :]).sigmoid_()  # σ(2 a_n)
        torch.add(neg1, n, alpha=2, out=n)  # n = tanh(a_n)
        torch.lerp(n, hp, z, out=y[t, :b])  # h_t                (b, H)

    h_n = sched.final_state(y, h0d)
    return y, h_n, ((U, V) if save else None)


def _backward(saved, sched: Schedule, needs, dy, dh_n):
    x, h0, w_ih, w_hh, b_ih, b_hh, U, V, y = saved
    T, B, I = x.shape
    H = w_hh.shape[0] // 3
    packed = sched.packed

    # Factors for all steps at once.                                  (T, B, H) each
    r, z, n = U.view(T, B, 3, H).unbind(2)
    v_n = V[:, :, 2 * H :] * 0.5
    h_prev = sched.prev_states(y, h0)  # (T, B, H)
    Kn = (1 - z) * (1 - n * n)  # ∂h/∂a_n
    sched.zero_inactive_(Kn)
    K = torch.empty_like(U).view(T, B, 3, H)
    torch.mul(Kn * v_n, r * (1 - r), out=K[:, :, 0])
    torch.mul(h_prev - n, z * (1 - z), out=K[:, :, 1])
    torch.mul(Kn, r, out=K[:, :, 2])
    del v_n

    new = x.new_zeros if packed else x.new_empty
    dV = new(T, B, 3 * H)
    dVv = dV.view(T, B, 3, H)
    back = StepMatmul(w_hh.t(), B, onednn=not packed, steps=T)  # dv_t W_hh
    if packed:
        DH = sched.carry_from_grads(dy, dh_n)  # (T+1, B, H)
    else:
        DH = x.new_empty(T + 1, B, H)  # every dh_t, for du_n after the loop
        last = sched.order[-1]
        dh = torch.add(dy[last], dh_n, out=DH[sched.slot(last)])

    for t in reversed(sched.order):
        b = sched.bs[t]
        if b == 0:
            continue
        if packed:
            dh = DH[sched.slot(t), :b]  # (b, H)
        torch.mul(K[t, :b], dh.unsqueeze(1), out=dVv[t, :b])  # dv_t   (b, 3, H)
        sp = sched.prev_slot(t)
        if packed:
            DH[sp, :b].addcmul_(dh, z[t, :b])
            back.addmm_(DH[sp, :b], dV[t, :b])
            continue
        out = DH[sp]
        if sched.is_first(t):
            base = torch.mul(dh, z[t], out=out)
        else:
            base = torch.addcmul(dy[sched.prev(t)], dh, z[t], out=out)
        dh = back.step(base, dV[t], out=out)  # dh_{t-1} = base + dv_t W_hh   (B, H)
        if dh.data_ptr() != out.data_ptr():
            out.copy_(dh)

    dh_t = DH[:-1] if sched.reverse else DH[1:]  # (T, B, H) in time order
    dU = dV.clone()
    torch.mul(dh_t, Kn, out=dU[:, :, 2 * H :])
    dU2, dV2 = dU.view(T * B, 3 * H), dV.view(T * B, 3 * H)
    d_x = torch.mm(dU2, w_ih).view(T, B, I) if needs[0] else None
    dh0 = (sched.initial_grad(DH) if packed else DH[sched.h0_slot]) if needs[1] else None
    d_w_ih = dU2.t().mm(x.reshape(T * B, I)) if needs[2] else None
    d_w_hh = dV2.t().mm(h_prev.view(T * B, H)) if needs[3] else None
    d_b_ih = dU2.sum(0) if needs[4] else None
    d_b_hh = dV2.sum(0) if needs[5] else None
    return d_x, dh0, d_w_ih, d_w_hh, d_b_ih, d_b_hh


class _GRUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, sched):
        y, h_n, (U, V) = _forward(x, h0, w_ih, w_hh, b_ih, b_hh, sched, True)
        ctx.sched = sched
        ctx.save_for_backward(x, h0, w_ih, w_hh, b_ih, b_hh, U, V, y)
        return y, h_n

    @staticmethod
    def backward(ctx, dy, dh_n):
        saved = ctx.saved_tensors
        sched, needs = ctx.sched, ctx.needs_input_grad[:6]
        if torch.is_grad_enabled():  # create_graph: differentiate a plain-autograd recompute

            def loop(*args):
                return gru_loop(*args, sched)

            return (*recompute_grads(loop, list(saved[:6]), [dy, dh_n], needs), None)
        return (*_backward(saved, sched, needs, dy.contiguous(), dh_n), None)


def gru_sequence(
    x: Tensor,
    h0: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    batch_sizes=None,
    reverse: bool = False,
):
    """One GRU layer-direction: x (T, B, I), h0 (B, H) -> y (T, B, H), h_n (B, H).

    Same contract and numbers as ``rnnkit.nn.functional.gru_sequence``; see the module
    docstring for the equations. Without gradients nothing is kept for backward.
    """
    T, B, _ = x.shape
    sched = Schedule(T, B, batch_sizes, reverse)
    args = (x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    if torch.is_grad_enabled() and any(a is not None and a.requires_grad for a in args):
        return _GRUFunction.apply(*args, sched)
    y, h_n, _ = _forward(*args, sched, False)
    return y, h_n
