"""The time schedule shared by the hand-written BPTT kernels: order, batch sizes, hold rules.

All kernels keep their buffers in time order ``t`` (so ``y[t]`` is the output at time t
whatever the direction) and walk ``t`` in processing order: 0 … T-1, or T-1 … 0 when
``reverse``. The state a step reads is the one the previous *processed* step wrote,
at time ``prev(t)`` (t-1, or t+1 when reversed), or the initial state for the first step.

Packed sequences (``batch_sizes``, non-increasing, rows sorted by length): at time t
only rows ``[:b_t]`` update; a row of length L is active at t = 0 … L-1. Forward, a
row that stops keeps its last state, so ``h_n[r] = y[L_r - 1][r]``. Reversed, a row
starts late, at t = L_r - 1, from ``h0[r]``; the rows ``[b_prev:b_t]`` that join at
step t read ``h0`` instead of the previous output ("growth" steps).

Gradients flow through a carry buffer ``DH`` with one slot per state position
(T + 1 slots): the initial state has its own slot, and the state written at time t
sits in ``slot(t)``. Rows outside a step keep their slot values, which gives the hold
semantics in backward for free.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from rnnkit.errors import RnnkitError

__all__ = ["Schedule", "rows", "const"]

_CONSTANTS: dict = {}


def const(value: float, like: Tensor) -> Tensor:
    """A cached 0-dim tensor of ``like``'s dtype and device (read-only; saves a copy per call)."""
    key = (value, like.dtype, like.device)
    c = _CONSTANTS.get(key)
    if c is None:
        with torch.inference_mode(False):  # usable outside inference mode too
            c = _CONSTANTS[key] = torch.tensor(value, dtype=like.dtype, device=like.device)
    return c


def rows(view: Tensor, b: int) -> Tensor:
    """The first b rows of a (B, ·) view, without a new view when b is all of them."""
    return view if b == view.shape[0] else view[:b]


class Schedule:
    """Processing order and per-step batch sizes of one layer-direction."""

    def __init__(self, T: int, B: int, batch_sizes: Sequence[int] | Tensor | None, reverse: bool):
        if T < 1:  # torch.nn's wording for the same input
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        self.T, self.B, self.reverse = T, B, bool(reverse)
        self.packed = batch_sizes is not None
        if batch_sizes is None:
            self.bs = [B] * T
        else:
            if isinstance(batch_sizes, Tensor):
                batch_sizes = batch_sizes.tolist()
            self.bs = [int(b) for b in batch_sizes]
            _check_batch_sizes(self.bs, T, B)
        self.order = list(range(T - 1, -1, -1)) if self.reverse else list(range(T))
        # Slot of the initial state in the (T + 1)-slot gradient carry.
        self.h0_slot = T if self.reverse else 0

    def prev(self, t: int) -> int:
        """Time index of the state step t reads; -1 or T means the initial state."""
        return t + 1 if self.reverse else t - 1

    def is_first(self, t: int) -> bool:
        return t == self.order[0]

    def slot(self, t: int) -> int:
        """Carry slot of the state written at time t."""
        return t if self.reverse else t + 1

    def prev_slot(self, t: int) -> int:
        """Carry slot of the state step t reads (``h0_slot`` for the first step)."""
        return t + 1 if self.reverse else t

    def steps(self):
        """(t, b, tp) in processing order, skipping empty steps; tp is None for the first step."""
        first = self.order[0]
        for t in self.order:
            b = self.bs[t]
            if b:
                yield t, b, (None if t == first else self.prev(t))

    def b(self, t: int) -> int:
        return self.bs[t]

    def b_prev(self, t: int) -> int:
        """Rows live in the state step t reads (all B for the initial state)."""
        return self.B if self.is_first(t) else self.bs[self.prev(t)]

    def length_groups(self):
        """(L, lo, hi): rows [lo, hi) have length L (active at t = 0 … L-1)."""
        edges = [self.B] + self.bs + [0]  # b_{-1} = B, …, b_T = 0
        for L in range(self.T + 1):
            lo, hi = edges[L + 1], edges[L]
            if hi > lo:
                yield L, lo, hi

    # --- buffers -------------------------------------------------------------------
    def zero_inactive_(self, buf: Tensor) -> Tensor:
        """Zero rows ``[b_t:]`` of ``buf[t]`` (buf is (T, B, …) in time order)."""
        if self.packed:
            for t, b in enumerate(self.bs):
                if b < self.B:
                    buf[t, b:].zero_()
        return buf

    def final_state(self, out: Tensor, first: Tensor) -> Tensor:
        """h_n (B, ·) from the time-ordered history ``out`` (T, B, ·) and initial ``first``.

        Forward: row r ends at time L_r - 1; reversed, every live row ends at t = 0.
        Rows of length 0 keep ``first``.
        """
        if not self.packed:
            return out[self.order[-1]].clone()
        h_n = first.clone()
        for L, lo, hi in self.length_groups():
            if L == 0:
                continue
            t_end = 0 if self.reverse else L - 1
            h_n[lo:hi] = out[t_end, lo:hi]
        return h_n

    def prev_states(self, out: Tensor, first: Tensor) -> Tensor:
        """The state each step read, (T, B, ·) in time order (rows past b_t are 0 or junk)."""
        prev = torch.empty_like(out)
        if self.reverse:
            prev[:-1] = out[1:]
            prev[-1] = first
        else:
            prev[1:] = out[:-1]
            prev[0] = first
        if self.packed and self.reverse:
            for t in range(self.T - 1):
                lo, hi = self.bs[t + 1], self.bs[t]
                if hi > lo:
                    prev[t, lo:hi] = first[lo:hi]
        return prev

    def mul_prev_(self, buf: Tensor, out: Tensor, first: Tensor) -> Tensor:
        """buf[t] *= (state step t read), in place, without copying the history when possible."""
        if self.packed and self.reverse:
            return buf.mul_(self.prev_states(out, first))
        if self.reverse:
            buf[:-1].mul_(out[1:])
            buf[-1].mul_(first)
        else:
            buf[1:].mul_(out[:-1])
            buf[0].mul_(first)
        return buf

    def prev_matmul(self, d: Tensor, out: Tensor, first: Tensor) -> Tensor:
        """Σ_t d[t]^T (state step t read): (N, P) for d (T, B, N), out (T, B, P), first (B, P)."""
        N, P = d.shape[-1], out.shape[-1]
        if self.packed and self.reverse:
            return d.reshape(-1, N).t().mm(self.prev_states(out, first).reshape(-1, P))
        if self.T == 1:
            return d[0].t().mm(first)
        if self.reverse:
            acc = d[:-1].reshape(-1, N).t().mm(out[1:].reshape(-1, P))
            return acc.addmm_(d[-1].t(), first)
        acc = d[1:].reshape(-1, N).t().mm(out[:-1].reshape(-1, P))
        return acc.addmm_(d[0].t(), first)

    def carry_from_grads(self, dy: Tensor, dh_n: Tensor) -> Tensor:
        """The packed gradient carry (T + 1, B, P): dy in its slots, dh_n at each row's end.

        Inactive rows of dy are dropped (those outputs are constant 0).
        """
        T = self.T
        DH = dy.new_zeros((T + 1,) + tuple(dy.shape[1:]))
        if self.reverse:
            DH[:-1] = dy
            self.zero_inactive_(DH[:-1])
            DH[0] += dh_n  # every row's last state is at t = 0 (or h0 for length 0)
        else:
            DH[1:] = dy
            self.zero_inactive_(DH[1:])
            for L, lo, hi in self.length_groups():
                DH[L, lo:hi] += dh_n[lo:hi]
        return DH

    def initial_grad(self, DH: Tensor) -> Tensor:
        """dh0 (B, P) out of the packed carry after the backward loop."""
        if not self.reverse:
            return DH[0].clone()
        dh0 = torch.empty_like(DH[0])
        for L, lo, hi in self.length_groups():
            dh0[lo:hi] = DH[L, lo:hi]
        return dh0


def _check_batch_sizes(bs: list[int], T: int, B: int) -> None:
    if len(bs) != T:
        raise RnnkitError(f"batch_sizes: expected {T} entries (one per time step), got {len(bs)}")
    for t, b in enumerate(bs):
        if b < 0 or b > B or (t > 0 and b > bs[t - 1]):
            raise RnnkitError(
                f"batch_sizes[{t}]: expected non-increasing values in [0, {B}], got {bs}"
            )
