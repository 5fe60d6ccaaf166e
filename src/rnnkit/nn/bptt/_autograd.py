"""Plain-autograd twins of the kernels, used only for double backward.

When a backward runs with ``create_graph=True`` the hand-written backward would hide
its own derivative, so the kernels recompute the layer here under autograd and take
``torch.autograd.grad(..., create_graph=True)`` of it. Same equations, same schedule
(hold semantics for ``batch_sizes``), written for clarity rather than speed.
"""
from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn.bptt._schedule import Schedule

__all__ = ["lstm_loop", "gru_loop", "rnn_loop"]


def _linear(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    return torch.nn.functional.linear(x, w, b)


def _hold(new: Tensor, old: Tensor, b: int) -> Tensor:
    """Rows [:b] take ``new`` (b, ·), the others keep ``old`` (B, ·)."""
    return new if b == old.shape[0] else torch.cat([new, old[b:]], 0)


def _pad(new: Tensor, B: int) -> Tensor:
    """Output of a step: rows past b are 0."""
    b = new.shape[0]
    return new if b == B else torch.cat([new, new.new_zeros((B - b,) + tuple(new.shape[1:]))], 0)


def _run(step, x: Tensor, states: list[Tensor], sched: Schedule):
    xs = x.unbind(0)  # T × (B, I)
    ys: list[Tensor | None] = [None] * sched.T
    for t in sched.order:
        b = sched.b(t)
        new = step(xs[t][:b], [s[:b] for s in states])  # first entry is the output state
        ys[t] = _pad(new[0], sched.B)
        states = [_hold(n, s, b) for n, s in zip(new, states)]
    return torch.stack(ys, 0), states


def lstm_loop(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, sched: Schedule):
    def step(x_t, hc):
        h, c = hc
        gates = _linear(x_t, w_ih, b_ih) + _linear(h, w_hh, b_hh)  # (b, 4H)
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        if w_hr is not None:
            h = h @ w_hr.t()  # (b, P)
        return [h, c]

    y, (h, c) = _run(step, x, [h0, c0], sched)
    return y, h, c


def gru_loop(x, h0, w_ih, w_hh, b_ih, b_hh, sched: Schedule):
    def step(x_t, hs):
        (h,) = hs
        xr, xz, xn = _linear(x_t, w_ih, b_ih).chunk(3, 1)
        hr, hz, hn = _linear(h, w_hh, b_hh).chunk(3, 1)
        r = torch.sigmoid(xr + hr)
        z = torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return [n + z * (h - n)]

    y, (h,) = _run(step, x, [h0], sched)
    return y, h


def rnn_loop(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, sched: Schedule):
    act = torch.tanh if nonlinearity == "tanh" else torch.relu

    def step(x_t, hs):
        (h,) = hs
        return [act(_linear(x_t, w_ih, b_ih) + _linear(h, w_hh, b_hh))]

    y, (h,) = _run(step, x, [h0], sched)
    return y, h


def recompute_grads(loop, inputs: list, grads_out: list[Tensor], needs: tuple[bool, ...]):
    """Differentiable gradients of ``loop(*inputs)`` for double backward.

    ``inputs`` are the Function's saved inputs (so the new graph reaches the originals);
    returns one gradient (or None) per input.
    """
    wanted = [i for i, (t, n) in enumerate(zip(inputs, needs)) if n and isinstance(t, Tensor)]
    with torch.enable_grad():
        outs = loop(*inputs)
        grads = torch.autograd.grad(
            outs, [inputs[i] for i in wanted], grads_out, create_graph=True, allow_unused=True
        )
    result: list[Tensor | None] = [None] * len(inputs)
    for i, g in zip(wanted, grads):
        result[i] = g if g is not None else torch.zeros_like(inputs[i])
    return result
