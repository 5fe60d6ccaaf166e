"""One character per call through an LSTM character LM, with almost no per-step overhead.

Generation feeds one id at a time, so the model's ordinary forward (embedding, the
layer's argument checks and backend choice, the time loop set up for one step, the
head) costs more than its arithmetic. :class:`LSTMStepper` reads the weights of a
:class:`~rnnkit.models.charlm.CharLM` once and then runs each step as a few in-place
ops on preallocated (1, ·) buffers:

    u_t        = P[x_t]                      P = E W_ih^T + b_ih + b_hh, (V, 4H): the
                                             embedding and first input GEMM, precomputed
    a_t        = u_t + h_{t-1} W_hh^T        (1, 4H); layer k > 0: u_t = h^{(k-1)}_t W_ih^T + b
    i, f, s, o = σ(a_t) with the g rows doubled beforehand, so g = tanh(a_g) = 2s - 1
    c_t        = f ⊙ c_{t-1} + i ⊙ g;   h_t = o ⊙ tanh(c_t)
    z_t        = h^{(L)}_t W_o^T + b_o       (1, V) logits

the same equations as the layer (dropout is the identity in eval mode), in a different
order of rounding only. The weights are copied when the stepper is built: it must be
rebuilt after they change.

:func:`stepper_for` returns None for models it does not cover (not an LSTM CharLM,
projections, bidirectional or extended layers); the caller then uses ``model.step``.
"""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["LSTMStepper", "stepper_for"]


def stepper_for(model) -> "LSTMStepper | None":
    """An :class:`LSTMStepper` for ``model``, or None when it does not apply."""
    rnn = getattr(model, "rnn", None)
    if getattr(model, "cell", None) != "lstm" or rnn is None or getattr(rnn, "mode", None) != "LSTM":
        return None
    extensions = getattr(rnn, "extensions", None)
    if (rnn.proj_size or rnn.bidirectional or getattr(rnn, "stateful", False)
            or (extensions is not None and extensions.active)):
        return None
    if rnn.weight_hh_l0.dtype not in (torch.float32, torch.float64):
        return None
    return LSTMStepper(model)


def _doubled_g(w: Tensor, H: int) -> Tensor:
    """A copy of w (4H, ·) or (4H,) with the g rows times 2 (for tanh a = 2σ(2a) - 1)."""
    w = w.detach().clone()
    w[2 * H:3 * H] *= 2
    return w


class LSTMStepper:
    """``logits = stepper.step(i)``: feed id ``i``, get the next logits (V,) (a buffer
    reused by the next call). ``set_state((h, c))`` takes the model's state, h and c
    (L, 1, H)."""

    @torch.no_grad()
    def __init__(self, model) -> None:
        rnn = model.rnn
        H, L = rnn.hidden_size, rnn.num_layers
        w = rnn.weight_hh_l0
        self.L, self.H = L, H
        zero = w.new_zeros(4 * H)

        def bias(k: int) -> Tensor:
            b_ih = getattr(rnn, f"bias_ih_l{k}", None)
            b_hh = getattr(rnn, f"bias_hh_l{k}", None)
            return (b_ih.detach() if b_ih is not None else zero) + (
                b_hh.detach() if b_hh is not None else zero)

        E = model.embed.weight.detach().to(w.dtype)  # (V, E)
        w_ih0 = _doubled_g(rnn.weight_ih_l0, H)  # (4H, E)
        self.table = torch.addmm(_doubled_g(bias(0), H), E, w_ih0.t())  # (V, 4H)
        self.w_hh_t = [_doubled_g(getattr(rnn, f"weight_hh_l{k}"), H).t().contiguous() for k in range(L)]  # (H, 4H)
        self.w_ih_t = [None] + [_doubled_g(getattr(rnn, f"weight_ih_l{k}"), H).t().contiguous()
                                for k in range(1, L)]  # (H, 4H)
        self.bias = [None] + [_doubled_g(bias(k), H).view(1, 4 * H) for k in range(1, L)]
        self.w_o_t = model.head.weight.detach().t().contiguous()  # (H, V)
        self.b_o = model.head.bias.detach().view(1, -1)  # (1, V)
        self.h = w.new_zeros(L, 1, H)
        self.c = w.new_zeros(L, 1, H)
        self.gates = w.new_empty(1, 4 * H)
        self.tc = w.new_empty(1, H)
        self.logits = w.new_empty(1, self.b_o.shape[1])
        self._i, self._f, self._g, self._o = self.gates.split(H, dim=1)  # views, (1, H) each

    @torch.no_grad()
    def set_state(self, state) -> None:
        h, c = state
        self.h.copy_(h.reshape(self.L, 1, self.H))
        self.c.copy_(c.reshape(self.L, 1, self.H))

    def step(self, i: int) -> Tensor:  # every tensor here is a detached copy: no autograd
        gates, i_, f, g, o, tc = self.gates, self._i, self._f, self._g, self._o, self.tc
        for k in range(self.L):
            h, c = self.h[k], self.c[k]  # (1, H)
            if k == 0:
                torch.addmm(self.table[i:i + 1], h, self.w_hh_t[0], out=gates)  # (1, 4H)
            else:
                torch.addmm(self.bias[k], self.h[k - 1], self.w_ih_t[k], out=gates)
                gates.addmm_(h, self.w_hh_t[k])
            torch.sigmoid(gates, out=gates)  # i, f, σ(2 a_g), o
            g.mul_(2).sub_(1)  # tanh(a_g)
            c.mul_(f).addcmul_(i_, g)  # c_t
            torch.tanh(c, out=tc)
            torch.mul(o, tc, out=h)  # h_t
        torch.addmm(self.b_o, self.h[self.L - 1], self.w_o_t, out=self.logits)  # (1, V)
        return self.logits[0]
