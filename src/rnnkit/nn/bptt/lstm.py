"""LSTM layer-direction with a hand-written backward through time.

Forward, per step (gates i, f, g, o; σ the logistic sigmoid; P = H_out)::

    a_t = W_ih x_t + b_ih + b_hh + W_hh h_{t-1}          (B, 4H), W_ih x hoisted: one GEMM
    i, f, o = σ(a_i), σ(a_f), σ(a_o);   g = tanh(a_g)
    c_t = f ⊙ c_{t-1} + i ⊙ g
    r_t = o ⊙ tanh(c_t);   h_t = r_t  (or h_t = W_hr r_t with a projection)

tanh is about five times slower than σ on this CPU, so the kernel uses
tanh(a) = 2σ(2a) - 1: the g rows of the weights are doubled once per call, one σ
covers all four gates, and the cell runs on the doubled state c2 = 2c.

Backward, per step in reverse processing order (dh_t = ∂L/∂h_t including dy_t)::

    dr   = dh_t                (or dh_t W_hr with a projection)
    dc   = dc_{t+1} ⊙ f_{t+1} + dr ⊙ o ⊙ (1 - tanh²(c_t))
    da_i = dc ⊙ g ⊙ i(1-i)      da_f = dc ⊙ c_{t-1} ⊙ f(1-f)
    da_g = dc ⊙ i ⊙ (1-g²)      da_o = dr ⊙ tanh(c_t) ⊙ o(1-o)
    dh_{t-1} += da_t W_hh

The code carries dc2 = ∂L/∂c2 = dc/2, which makes each factor a product of saved
tensors. The factors after ``dc``/``dr`` depend on the forward pass only, so they are
computed for all T at once before the loop; the loop is one GEMM and four elementwise
ops. After it, dW_ih = da^T x, dW_hh = da^T h_prev, dx = da W_ih, db = Σ da and
dW_hr = dh^T r are single large GEMMs over all T·B rows.

Equivalent plain loop (what ``_autograd.lstm_loop`` runs for double backward)::

    for t in order:
        i, f, g, o = (x[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, 1)
        c = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h = sigmoid(o) * tanh(c)            # then h @ W_hr.T with a projection
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn import kernels
from rnnkit.nn.backend_choice import SMALL_CALL_ROWS
from rnnkit.nn.bptt._autograd import lstm_loop, recompute_grads
from rnnkit.nn.gemm import StepMatmul, input_projection, step_blas_preferred
from rnnkit.nn.bptt._schedule import Schedule, const, rows

__all__ = ["lstm_sequence"]


def _scaled_weights(w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None, b_hh: Tensor | None):
    """Copies with the g rows doubled, and the two biases summed."""
    H = w_hh.shape[0] // 4
    w_ih_s = w_ih.detach().clone()
    w_hh_s = w_hh.detach().clone()
    w_ih_s[2 * H : 3 * H] *= 2
    w_hh_s[2 * H : 3 * H] *= 2
    bias = None
    if b_ih is not None or b_hh is not None:
        bias = (b_ih.detach() if b_ih is not None else 0) + (
            b_hh.detach() if b_hh is not None else 0
        )
        bias = bias.clone()
        bias[2 * H : 3 * H] *= 2
    return w_ih_s, w_hh_s, bias


def _fused(x: Tensor, sched: Schedule, w_hr) -> bool:
    """Whether the C++ time loops (rnnkit.nn.kernels) run this call: CPU float32/64,
    packed input and projections included."""
    return kernels.applies(x, "lstm_forward")


def _batch_sizes(sched: Schedule) -> Tensor | None:
    """The schedule's batch sizes as the (T,) int64 CPU tensor the kernels read, or None."""
    if not sched.packed:
        return None
    bs = getattr(sched, "_bs_tensor", None)
    if bs is None:
        bs = sched._bs_tensor = torch.tensor(sched.bs, dtype=torch.int64)
    return bs


def _summed_bias(b_ih: Tensor | None, b_hh: Tensor | None) -> Tensor | None:
    """b_ih + b_hh (detached), or None when the layer has no biases."""
    if b_ih is None and b_hh is None:
        return None
    return (b_ih.detach() if b_ih is not None else 0) + (b_hh.detach() if b_hh is not None else 0)


def _forward_fused(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, sched: Schedule, save: bool):
    """The forward loop in C++ (kernels/lstm.cpp), on the unscaled weights; same outputs
    and saved tensors as the Python loop below. Packed input and projections run on
    BLAS (the oneDNN weights are packed for whole row blocks and plain LSTMs)."""
    T, B, I = x.shape
    H = w_hh.shape[0] // 4
    w_ih, w_hh, bias = w_ih.detach(), w_hh.detach(), _summed_bias(b_ih, b_hh)
    w_hr = w_hr.detach().contiguous() if w_hr is not None else None
    h0d, c0s = h0.detach().contiguous(), (c0.detach() * 2).contiguous()  # the cell runs on c2 = 2c
    last = sched.order[-1]
    plain = not sched.packed and w_hr is None
    if plain and not save and T * B > SMALL_CALL_ROWS and kernels.applies(x, "lstm_infer"):
        # Inference: one GEMM per step on [x_t, h_{t-1}] with [W_ih | W_hh]; no G buffer.
        # (Not for a few rows, as in generation: copying the weights into [W_ih | W_hh]
        # then costs more than the steps; measured 2x slower at B = T = 1, H = 512.)
        w_cat = torch.cat([w_ih, w_hh], 1)  # (4H, I + H)
        rec = StepMatmul(w_cat, kernels.rows_per_thread(B, T, w_cat.numel()), steps=T)
        y, c2 = torch.ops.rnnkit.lstm_infer(
            x.detach().contiguous(), h0d, c0s, w_cat.t(), bias, rec.packed, sched.reverse
        )
        return y, y[last].clone(), c2.mul_(0.5), None
    G = input_projection(x.reshape(T * B, I), w_ih, bias).view(T, B, 4 * H)  # then the gates
    onednn = None
    blas = step_blas_preferred()
    if plain and not blas:
        onednn = StepMatmul(w_hh, kernels.rows_per_thread(B, T, w_hh.numel()), steps=T).packed
    # float32: the kernel packs W_hh for MKL itself (kernels/common.h PackedWeight). Else
    # BLAS reads W_hh^T faster as contiguous (P, 4H) rows: a copy per call pays for itself
    # from a few steps of a large weight on; else the transposed view of W_hh.
    rows_copy = (blas and onednn is None and T >= 4 and w_hh.numel() >= 256 * 256
                 and x.dtype != torch.float32)
    w_hh_t = w_hh.t().contiguous() if rows_copy else w_hh.contiguous().t()
    y, C, TC, R = torch.ops.rnnkit.lstm_forward(
        G, h0d, c0s, w_hh_t, onednn, sched.reverse, save, _batch_sizes(sched), w_hr
    )
    R = R if R is not None and R.numel() else None
    if sched.packed:
        h_n = sched.final_state(y, h0d)
        c_n = sched.final_state(C, c0s).mul_(0.5) if save else C.mul_(0.5)
    else:
        h_n = y[last].clone()
        c_n = C[last] * 0.5 if save else C.mul_(0.5)
    return y, h_n, c_n, ((G, C, TC, R) if save else None)


def _forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, sched: Schedule, save: bool):
    if _fused(x, sched, w_hr):
        return _forward_fused(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, sched, save)
    T, B, I = x.shape
    H = w_hh.shape[0] // 4
    P = h0.shape[1]
    w_ih_s, w_hh_s, bias = _scaled_weights(w_ih, w_hh, b_ih, b_hh)
    x2 = x.reshape(T * B, I)
    G = input_projection(x2, w_ih_s, bias).view(T, B, 4 * H)  # pre-activations, then gates in place
    rec = StepMatmul(w_hh_s, B, onednn=not sched.packed, steps=T)
    w_hr_t = w_hr.detach().t() if w_hr is not None else None  # (H, P)
    new = x.new_zeros if sched.packed else x.new_empty
    y = new(T, B, P)
    c0s = c0.detach() * 2  # (B, H) doubled cell state
    if save:
        C, TC = new(T, B, H), new(T, B, H)  # c2 history and tanh(c) history
        R = new(T, B, H) if w_hr is not None else None
    else:
        cstate = c0s.clone()  # one running state: rows outside a step keep theirs
        tcb = x.new_empty(B, H)
        rb = x.new_empty(B, H) if w_hr is not None else None
    neg1, neg2 = const(-1.0, x), const(-2.0, x)
    h0d = h0.detach()

    # Per-step views made once: no indexing in the loop.
    Gs, Ys = G.unbind(0), y.unbind(0)  # T × (B, 4H), T × (B, P)
    I_, F_, G_, O_ = (G.view(T, B, 4, H)[:, :, k].unbind(0) for k in range(4))  # T × (B, H)
    if save:
        Cs, TCs = C.unbind(0), TC.unbind(0)
        Rs = R.unbind(0) if w_hr is not None else None

    for t, b, tp in sched.steps():
        if b == B:
            gates, i, f, g, o = Gs[t], I_[t], F_[t], G_[t], O_[t]
        else:
            gates = Gs[t][:b]  # (b, 4H)
            i, f, g, o = gates.chunk(4, 1)
        if tp is None:
            hp = rows(h0d, b)
            cp = rows(c0s if save else cstate, b)
        else:
            bp = sched.bs[tp]
            if b <= bp:
                hp = rows(Ys[tp], b)
            else:  # reversed packed input: rows [bp:b] start here from h0
                hp = torch.cat([Ys[tp][:bp], h0d[bp:b]])
                if save:
                    Cs[tp][bp:b] = c0s[bp:b]
            cp = rows(Cs[tp] if save else cstate, b)
        a = rec.step(gates, hp, out=gates)  # a_t = u_t + h_{t-1} W_hh^T   (b, 4H)
        torch.sigmoid(a, out=gates)  # i, f, σ(2a_g), o
        torch.add(neg2, g, alpha=4, out=g)  # 2g = 4σ(2a_g) - 2
        c = rows(Cs[t] if save else cstate, b)
        torch.mul(f, cp, out=c)
        c.addcmul_(i, g)  # c2_t = f ⊙ c2_{t-1} + i ⊙ 2g    (b, H)
        tc = rows(TCs[t] if save else tcb, b)
        torch.sigmoid(c, out=tc)
        torch.add(neg1, tc, alpha=2, out=tc)  # tanh(c_t) = 2σ(c2_t) - 1
        if w_hr is None:
            torch.mul(o, tc, out=rows(Ys[t], b))  # h_t            (b, H)
        else:
            r = rows(Rs[t] if save else rb, b)
            torch.mul(o, tc, out=r)
            torch.mm(r, w_hr_t, out=rows(Ys[t], b))  # h_t = r_t W_hr^T  (b, P)

    h_n = sched.final_state(y, h0d)
    if save:
        c_n = sched.final_state(C, c0s).mul_(0.5)
        return y, h_n, c_n, (G, C, TC, R)
    return y, h_n, cstate.mul_(0.5), None


def _backward(saved, sched: Schedule, needs, dy, dh_n, dc_n):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, G, C, TC, R, y = saved
    T, B, I = x.shape
    H = w_hh.shape[0] // 4
    P = h0.shape[1]
    packed = sched.packed
    if _fused(x, sched, w_hr):
        back = None
        if not packed and w_hr is None and not step_blas_preferred():
            back = StepMatmul(w_hh.t(), kernels.rows_per_thread(B, T, w_hh.numel()), steps=T).packed
        c0s = (c0.detach() * 2).contiguous()
        dG, dh0, DC, dh_hist = torch.ops.rnnkit.lstm_backward(
            G,
            C,
            TC,
            c0s,
            dy,
            dh_n.contiguous(),
            dc_n.contiguous(),
            w_hh.detach().contiguous(),
            back,
            sched.reverse,
            _batch_sizes(sched),
            w_hr.detach().contiguous() if w_hr is not None else None,
        )
        dh_hist = dh_hist if w_hr is not None else None
        return _weight_grads(x, h0, w_ih, w_hr, R, y, sched, needs, dG, dh0, dh_hist, DC)

    # Gate-derivative factors for all steps at once, per unit of dc2 = ∂L/∂c2 (c2 = 2c)
    # and of dr, written into two preallocated buffers.                 (T, B, H) each
    i, f, g2, o = G.view(T, B, 4, H).unbind(2)
    K = torch.addcmul(G, G, G, value=-1).view(T, B, 4, H)  # s(1-s), one contiguous pass
    K_i, K_f, K_g, K_o = K.unbind(2)
    K_i.mul_(g2)  # ∂c2/∂a_i = 2g i(1-i)
    sched.mul_prev_(K_f, C, c0.detach() * 2)  # ∂c2/∂a_f = c2_{t-1} f(1-f)
    torch.addcmul(const(2.0, x), g2, g2, value=-0.5, out=K_g).mul_(i)  # ∂c2/∂a_g = 2i(1-g²)
    K_o.mul_(TC)  # ∂h/∂a_o = tanh(c) o(1-o)
    A = torch.addcmul(const(1.0, x), TC, TC, value=-1).mul_(o)  # 2 ∂h/∂c2 = o(1-tanh²c)
    K3 = K[:, :, :3]

    new = x.new_zeros if packed else x.new_empty
    dG = new(T, B, 4 * H)
    dGv = dG.view(T, B, 4, H)
    DR = new(T, B, H) if w_hr is not None else None
    back = StepMatmul(w_hh.t(), B, onednn=not packed, steps=T)  # dh_{t-1} = dy_{t-1} + da_t W_hh
    DC = dc_n * 0.5  # (B, H) carry of ∂L/∂c2
    hist = w_hr is not None  # dW_hr needs every dh_t
    if packed:
        DH = sched.carry_from_grads(dy, dh_n)  # (T+1, B, P)
    else:
        last = sched.order[-1]
        dh = dy[last] + dh_n  # (B, P)
        DH = x.new_empty(T + 1, B, P) if hist else x.new_empty(1, B, P)
        if hist:
            DH[sched.slot(last)] = dh

    # Per-step views made once: no indexing in the loop.
    K3s, K_os, As, F_ = K3.unbind(0), K_o.unbind(0), A.unbind(0), f.unbind(0)
    dGs, dG3s, dGos = dG.unbind(0), dGv[:, :, :3].unbind(0), dGv[:, :, 3].unbind(0)
    DHs, dys = DH.unbind(0), dy.unbind(0)
    DRs = DR.unbind(0) if w_hr is not None else None
    for t, b, tp in reversed(list(sched.steps())):
        if packed:
            dh = DHs[sched.slot(t)][:b]  # (b, P)
        dr = dh if w_hr is None else torch.mm(dh, w_hr, out=rows(DRs[t], b))  # (b, H)
        dc = rows(DC, b)
        dc.addcmul_(dr, rows(As[t], b), value=0.5)
        torch.mul(rows(K3s[t], b), dc.unsqueeze(1), out=rows(dG3s[t], b))  # da_i, da_f, da_g
        torch.mul(dr, rows(K_os[t], b), out=rows(dGos[t], b))  # da_o
        dc.mul_(rows(F_[t], b))
        if packed:
            back.addmm_(DHs[sched.prev_slot(t)][:b], dGs[t][:b])
            continue
        out = DHs[sched.prev_slot(t)] if hist else DHs[0]
        if tp is None:
            dh = back.step_bias(None, dGs[t], out=out)
        else:
            dh = back.step(dys[tp], dGs[t], out=out)  # dh_{t-1}  (B, P)
        if hist and dh.data_ptr() != out.data_ptr():
            out.copy_(dh)
    dh0 = (sched.initial_grad(DH) if needs[1] else None) if packed else dh
    dh_hist = (DH[:-1] if sched.reverse else DH[1:]) if hist else None  # (T, B, P) time order
    return _weight_grads(x, h0, w_ih, w_hr, R, y, sched, needs, dG, dh0, dh_hist, DC * 2)


def _weight_grads(x, h0, w_ih, w_hr, R, y, sched: Schedule, needs, dG, dh0, dh_hist, dc0):
    """The gradients after the time loop: large GEMMs over all T·B rows. ``dh_hist``
    (T, B, P): every dh_t in time order, with a projection (for dW_hr)."""
    T, B, I = x.shape
    H, P = dG.shape[-1] // 4, h0.shape[1]
    dG2 = dG.view(T * B, 4 * H)
    d_x = torch.mm(dG2, w_ih).view(T, B, I) if needs[0] else None
    dh0 = dh0 if needs[1] else None
    d_w_ih, d_b = None, None
    want_b = needs[5] or needs[6]
    if needs[3] and 8 * I <= 4 * H:
        # A narrow input: [x, 1]^T dG gives dW_ih^T (I, 4H) and db (4H,) in one GEMM, which
        # MKL makes faster than dG^T x and a column sum (4.4 against 6.2 + 0.9 ms at I = 64,
        # 4H = 2048 and 2048 rows, Intel Xeon, one thread); then a small transposing copy.
        x2 = x.reshape(T * B, I)
        x1 = torch.cat([x2, x2.new_ones(T * B, 1)], 1) if want_b else x2  # (T·B, I + 1)
        prod = x1.t().mm(dG2)  # (I + 1, 4H)
        d_w_ih = prod[:I].t().contiguous()
        d_b = prod[I].clone() if want_b else None
    elif needs[3]:
        d_w_ih = dG2.t().mm(x.reshape(T * B, I))
    d_w_hh = None
    if needs[4]:
        d_w_hh = sched.prev_matmul(dG, y, h0)  # Σ_t da_t^T h_{t-1}
    if want_b and d_b is None:
        d_b = dG2.sum(0)
    d_w_hr = None
    if w_hr is not None and needs[7]:
        d_w_hr = dh_hist.reshape(T * B, P).t().mm(R.reshape(T * B, H))
    return (
        d_x,
        dh0,
        dc0 if needs[2] else None,
        d_w_ih,
        d_w_hh,
        d_b if needs[5] else None,
        d_b if needs[6] else None,
        d_w_hr,
    )


class _LSTMFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, sched):
        y, h_n, c_n, (G, C, TC, R) = _forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, sched, True)
        ctx.sched = sched
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, G, C, TC, R, y)
        return y, h_n, c_n

    @staticmethod
    def backward(ctx, dy, dh_n, dc_n):
        saved = ctx.saved_tensors
        sched, needs = ctx.sched, ctx.needs_input_grad[:8]
        if torch.is_grad_enabled():  # create_graph: differentiate a plain-autograd recompute

            def loop(*args):
                return lstm_loop(*args, sched)

            return (*recompute_grads(loop, list(saved[:8]), [dy, dh_n, dc_n], needs), None)
        return (*_backward(saved, sched, needs, dy.contiguous(), dh_n, dc_n), None)


def lstm_sequence(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias_ih: Tensor | None,
    bias_hh: Tensor | None,
    weight_hr: Tensor | None = None,
    batch_sizes=None,
    reverse: bool = False,
):
    """One LSTM layer-direction: x (T, B, I), h0 (B, P), c0 (B, H) -> y (T, B, P), h_n, c_n.

    Same contract and numbers as ``rnnkit.nn.functional.lstm_sequence``; see the module
    docstring for the equations. Without gradients nothing is kept for backward.
    """
    T, B, _ = x.shape
    sched = Schedule(T, B, batch_sizes, reverse)
    args = (x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, weight_hr)
    if torch.is_grad_enabled() and any(a is not None and a.requires_grad for a in args):
        return _LSTMFunction.apply(*args, sched)
    y, h_n, c_n, _ = _forward(*args, sched, False)
    return y, h_n, c_n
