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

from rnnkit.nn import kernels
from rnnkit.nn.bptt._autograd import gru_loop, recompute_grads
from rnnkit.nn.gemm import StepMatmul, input_projection
from rnnkit.nn.bptt._schedule import Schedule, const, rows

__all__ = ["gru_sequence"]


def _doubled_n(t: Tensor | None) -> Tensor | None:
    """A copy of a (3H, …) weight or bias with its n block doubled."""
    if t is None:
        return None
    H = t.shape[0] // 3
    out = t.detach().clone()
    out[2 * H :] *= 2
    return out


def _fused(x: Tensor, sched: Schedule) -> bool:
    """Whether the C++ time loops (rnnkit.nn.kernels, gru.cpp) run this call."""
    return not sched.packed and kernels.applies(x, "gru_forward")


def _forward(x, h0, w_ih, w_hh, b_ih, b_hh, sched: Schedule, save: bool):
    T, B, I = x.shape
    H = w_hh.shape[0] // 3
    if _fused(x, sched):  # the same loop in C++ (kernels/gru.cpp), on the unscaled weights
        w_ih, w_hh = w_ih.detach(), w_hh.detach()
        b_ih, b_hh = (b.detach() if b is not None else None for b in (b_ih, b_hh))
        U = input_projection(x.reshape(T * B, I), w_ih, b_ih).view(T, B, 3 * H)  # u_t → r, z, n
        rec = StepMatmul(w_hh, kernels.rows_per_thread(B, T, w_hh.numel()), steps=T)
        y, V = torch.ops.rnnkit.gru_forward(
            U,
            h0.detach().contiguous(),
            w_hh.contiguous().t(),
            b_hh,
            rec.packed,
            sched.reverse,
            save,
        )
        return y, y[sched.order[-1]].clone(), ((U, V) if save else None)  # V: v_t unscaled here
    w_ih_s, w_hh_s, b_ih_s, b_hh_s = map(_doubled_n, (w_ih, w_hh, b_ih, b_hh))
    U = input_projection(x.reshape(T * B, I), w_ih_s, b_ih_s).view(T, B, 3 * H)  # u_t → r, z, n
    new = x.new_zeros if sched.packed else x.new_empty
    y = new(T, B, H)
    V = new(T, B, 3 * H) if save else x.new_empty(B, 3 * H)  # v_t (n block doubled)
    rec = StepMatmul(w_hh_s, B, onednn=not sched.packed, steps=T)
    neg1 = const(-1.0, x)
    h0d = h0.detach()

    # Per-step views made once: no indexing in the loop.
    Us, Ys = U.unbind(0), y.unbind(0)  # T × (B, 3H), T × (B, H)
    Uv = U.view(T, B, 3, H)
    RZ_, R_, Z_, N_ = (
        U[:, :, : 2 * H].unbind(0),
        Uv[:, :, 0].unbind(0),
        Uv[:, :, 1].unbind(0),
        Uv[:, :, 2].unbind(0),
    )
    if save:
        Vs, VNs = V.unbind(0), V[:, :, 2 * H :].unbind(0)

    for t, b, tp in sched.steps():
        if tp is None:
            hp = rows(h0d, b)
        else:
            bp = sched.bs[tp]
            hp = rows(Ys[tp], b) if b <= bp else torch.cat([Ys[tp][:bp], h0d[bp:b]])
        v_out = rows(Vs[t] if save else V, b)
        v = rec.step_bias(b_hh_s, hp, out=v_out)  # v_t = h_{t-1} W_hh^T + b_hh   (b, 3H)
        if save and v.data_ptr() != v_out.data_ptr():
            rows(VNs[t], b).copy_(v[:, 2 * H :])  # backward needs v_n
        v_rz, v_n = v.split([2 * H, H], 1)
        if b == B:
            rz, r, z, n = RZ_[t], R_[t], Z_[t], N_[t]
        else:
            gates = Us[t][:b]  # (b, 3H)
            rz, n = gates.split([2 * H, H], 1)
            r, z = rz.chunk(2, 1)
        rz.add_(v_rz).sigmoid_()  # r, z
        n.addcmul_(r, v_n).sigmoid_()  # σ(2 a_n)
        torch.add(neg1, n, alpha=2, out=n)  # n = tanh(a_n)
        torch.lerp(n, hp, z, out=rows(Ys[t], b))  # h_t        (b, H)

    h_n = sched.final_state(y, h0d)
    return y, h_n, ((U, V) if save else None)


def _backward(saved, sched: Schedule, needs, dy, dh_n):
    x, h0, w_ih, w_hh, b_ih, b_hh, U, V, y = saved
    T, B, I = x.shape
    H = w_hh.shape[0] // 3
    packed = sched.packed
    if _fused(x, sched):
        dV, dUn, dh0 = torch.ops.rnnkit.gru_backward(
            U,
            V,
            y,
            h0.detach().contiguous(),
            dy,
            dh_n.contiguous(),
            w_hh.detach().contiguous(),
            sched.reverse,
        )
        return _grads_after_loop(x, h0, w_ih, y, sched, needs, dV, dUn.view(T * B, H), dh0)

    # Factors for all steps at once, in few passes.                   (T, B, H) each
    r, z, n = U.view(T, B, 3, H).unbind(2)
    K = torch.addcmul(U, U, U, value=-1).view(T, B, 3, H)  # s(1-s) for r and z
    K_r, K_z, K_n = K.unbind(2)
    Kn = torch.addcmul(const(1.0, x), n, n, value=-1)  # 1 - n²
    torch.addcmul(Kn, Kn, z, value=-1, out=Kn)  # ∂h/∂a_n = (1-z)(1-n²)
    sched.zero_inactive_(Kn)
    K_r.mul_(V[:, :, 2 * H :])  # v_n is stored doubled: halve below
    torch.addcmul(const(0.0, x), K_r, Kn, value=0.5, out=K_r)  # (1-z)(1-n²) v_n r(1-r)
    nk = torch.mul(n, K_z)
    sched.mul_prev_(K_z, y, h0).sub_(nk)  # (h_{t-1} - n) z(1-z)
    del nk
    torch.mul(Kn, r, out=K_n)  # (1-z)(1-n²) r

    new = x.new_zeros if packed else x.new_empty
    dV = new(T, B, 3 * H)
    # dv_t W_hh on MKL: oneDNN measured 10-15% slower over the whole GRU backward at H = 256.
    back = StepMatmul(w_hh.t(), B, onednn=False)
    if packed:
        DH = sched.carry_from_grads(dy, dh_n)  # (T+1, B, H)
    else:
        DH = x.new_empty(T + 1, B, H)  # every dh_t, for du_n after the loop
        last = sched.order[-1]
        dh = torch.add(dy[last], dh_n, out=DH[sched.slot(last)])

    # Per-step views made once: no indexing in the loop.
    Ks, Zs, dVs, dVvs = K.unbind(0), z.unbind(0), dV.unbind(0), dV.view(T, B, 3, H).unbind(0)
    DHs, dys = DH.unbind(0), dy.unbind(0)
    for t, b, tp in reversed(list(sched.steps())):
        if packed:
            dh = DHs[sched.slot(t)][:b]  # (b, H)
        torch.mul(rows(Ks[t], b), dh.unsqueeze(1), out=rows(dVvs[t], b))  # dv_t   (b, 3, H)
        out = rows(DHs[sched.prev_slot(t)], b)
        if packed:
            out.addcmul_(dh, Zs[t][:b])
        elif tp is None:
            torch.mul(dh, Zs[t], out=out)
        else:
            torch.addcmul(dys[tp], dh, Zs[t], out=out)
        if packed:
            back.addmm_(out, dVs[t][:b])
            continue
        dh = back.step(out, dVs[t], out=out)  # dh_{t-1} += dv_t W_hh   (B, H)
        if dh.data_ptr() != out.data_ptr():
            out.copy_(dh)  # du_n after the loop reads every dh_t

    # du equals dv except its n block, du_n = dh ⊙ (1-z)(1-n²): GEMMs on the two parts.
    dh_t = DH[:-1] if sched.reverse else DH[1:]  # (T, B, H) in time order
    du_n = torch.mul(dh_t, Kn).view(T * B, H)
    dh0 = sched.initial_grad(DH) if packed else DH[sched.h0_slot]
    return _grads_after_loop(x, h0, w_ih, y, sched, needs, dV, du_n, dh0)


def _grads_after_loop(x, h0, w_ih, y, sched: Schedule, needs, dV, du_n, dh0):
    """dx, dh0 and the weight gradients: GEMMs and sums over all T·B rows."""
    T, B, I = x.shape
    H = dV.shape[-1] // 3
    dV2 = dV.view(T * B, 3 * H)
    dv_rz = dV2[:, : 2 * H]  # (T·B, 2H), row stride 3H
    x2 = x.reshape(T * B, I)
    d_x = None
    if needs[0]:
        d_x = torch.mm(dv_rz, w_ih[: 2 * H]).addmm_(du_n, w_ih[2 * H :]).view(T, B, I)
    dh0 = dh0 if needs[1] else None
    d_w_ih = torch.cat([dv_rz.t().mm(x2), du_n.t().mm(x2)]) if needs[2] else None
    d_w_hh = sched.prev_matmul(dV, y, h0) if needs[3] else None  # Σ_t dv_t^T h_{t-1}
    d_b_ih = torch.cat([dv_rz.sum(0), du_n.sum(0)]) if needs[4] else None
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
