"""What RNN, LSTM and GRU share: parameters, shape checks, layer stacking, truncated BPTT.

A subclass describes one layer ``k`` of its recurrence with two methods:

- ``_layer_forward(k, x, state0) -> (y, state_n, cache)``: ``x`` (T, B, I_k), ``state0``
  a tuple of (B, H) arrays (``(h0,)`` or ``(h0, c0)``), ``y`` (T, B, H); every array in
  ``cache`` is time-major, so ``cache[name][lo:hi]`` is the cache of steps lo..hi-1.
- ``_layer_backward(k, dy, cache, dstate_n) -> (dx, dstate0, grads)``: full BPTT over the
  steps in ``cache``, written step by step in ``reversed(range(T))``.

This base class stacks the layers (layer k+1 reads the outputs of layer k) and builds
truncated BPTT out of full BPTT over windows (see :meth:`RecurrentReference.backward`).
NumPy only: never import torch here.
"""
from __future__ import annotations

import numbers
from typing import Any, Mapping

import numpy as np

from rnnkit.errors import RnnkitError

__all__ = ["RecurrentReference", "sigmoid", "check_shape"]


def sigmoid(a: np.ndarray) -> np.ndarray:
    """sigma(a) = 1 / (1 + exp(-a)), written so that no exp overflows."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _fmt(shape: tuple) -> str:
    """(5, 2, 4) -> '(5, 2, 4)'; a 1-tuple reads '(3,)' as Python writes it."""
    return str(tuple(int(s) if isinstance(s, numbers.Integral) else s for s in shape))


def check_shape(name: str, array: Any, expected: tuple, dtype: np.dtype) -> np.ndarray:
    """Return ``array`` as an ndarray of ``dtype``; raise if its shape is not ``expected``.

    ``expected`` may hold a letter (e.g. "T") for a free dimension, which is echoed in the
    message: ``x: expected shape (T, B, 3), got (5, 2, 4)``.
    """
    arr = np.asarray(array, dtype=dtype)
    ok = arr.ndim == len(expected) and all(
        isinstance(e, str) or int(e) == int(s) for e, s in zip(expected, arr.shape)
    )
    if not ok:
        want = "(" + ", ".join(str(e) for e in expected) + ("," if len(expected) == 1 else "") + ")"
        raise RnnkitError(f"{name}: expected shape {want}, got {_fmt(arr.shape)}")
    return arr


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise RnnkitError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


class RecurrentReference:
    """Base of the NumPy reference layers; see :class:`rnnkit.reference.RNN` for the API."""

    #: G, the number of gate blocks stacked in ``weight_ih_l{k}`` (1 RNN, 4 LSTM, 3 GRU).
    gate_count = 1
    #: Names of the per-layer state arrays: ("h",) or ("h", "c").
    state_names: tuple[str, ...] = ("h",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        *,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.input_size = _check_positive_int("input_size", input_size)
        self.hidden_size = _check_positive_int("hidden_size", hidden_size)
        self.num_layers = _check_positive_int("num_layers", num_layers)
        if not isinstance(bias, bool):
            raise RnnkitError(f"bias: expected True or False, got {bias!r}")
        self.bias = bias
        self.dtype = np.dtype(np.float64)
        self.params: dict[str, np.ndarray] = {}
        self.reset_parameters(seed)

    # ----------------------------------------------------------------- parameters
    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """torch.nn's names and shapes, in torch's order: weight_ih (G*H, I_k), weight_hh
        (G*H, H), bias_ih (G*H,), bias_hh (G*H,) for each layer k; I_0 = I, I_k = H after."""
        G, H = self.gate_count, self.hidden_size
        shapes: dict[str, tuple[int, ...]] = {}
        for k in range(self.num_layers):
            in_k = self.input_size if k == 0 else H
            shapes[f"weight_ih_l{k}"] = (G * H, in_k)
            shapes[f"weight_hh_l{k}"] = (G * H, H)
            if self.bias:
                shapes[f"bias_ih_l{k}"] = (G * H,)
                shapes[f"bias_hh_l{k}"] = (G * H,)
        return shapes

    def reset_parameters(self, seed: int | np.random.Generator | None = None) -> None:
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), as torch.nn initialises them."""
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(self.hidden_size)
        self.params = {
            name: rng.uniform(-bound, bound, size=shape).astype(self.dtype)
            for name, shape in self.parameter_shapes().items()
        }

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of the parameters, keyed by torch.nn's names."""
        return {name: value.copy() for name, value in self.params.items()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load arrays keyed and shaped as torch.nn's (e.g. ``{k: v.detach().numpy()}``)."""
        shapes = self.parameter_shapes()
        for name in state_dict:
            if name not in shapes:
                raise RnnkitError(f"state_dict: unexpected key {name!r}")
        loaded = {}
        for name, shape in shapes.items():
            if name not in state_dict:
                raise RnnkitError(f"state_dict: missing key {name!r}")
            loaded[name] = check_shape(name, state_dict[name], shape, self.dtype).copy()
        self.params = loaded

    def zero_grads(self) -> dict[str, np.ndarray]:
        return {name: np.zeros_like(value) for name, value in self.params.items()}

    # ------------------------------------------------------------------- states
    def _state_arg_names(self, prefix: str) -> tuple[str, ...]:
        # forward's state is (h0[, c0]); backward's dstate is (dh_n[, dc_n]).
        suffix = "0" if prefix == "" else "_n"
        return tuple(f"{prefix}{s}{suffix}" for s in self.state_names)

    def _check_state(self, state: Any, batch: int, prefix: str) -> tuple[np.ndarray, ...]:
        """``state`` as a tuple of (L, B, H) arrays (zeros when None)."""
        names = self._state_arg_names(prefix)
        shape = (self.num_layers, batch, self.hidden_size)
        if state is None:
            return tuple(np.zeros(shape, dtype=self.dtype) for _ in names)
        if len(names) == 1:
            return (check_shape(names[0], state, shape, self.dtype),)
        arg = "state" if prefix == "" else "dstate"
        if not isinstance(state, (tuple, list)) or len(state) != len(names):
            got = f"{type(state).__name__} of length {len(state)}" if isinstance(
                state, (tuple, list)) else type(state).__name__
            raise RnnkitError(f"{arg}: expected a pair ({', '.join(names)}), got {got}")
        return tuple(check_shape(n, s, shape, self.dtype) for n, s in zip(names, state))

    def _pack_state(self, arrays: tuple[np.ndarray, ...]) -> Any:
        return arrays[0] if len(arrays) == 1 else tuple(arrays)

    def _unpack_state(self, state: Any) -> tuple[np.ndarray, ...]:
        return (state,) if len(self.state_names) == 1 else tuple(state)

    # ------------------------------------------------------------------ forward
    def forward(self, x: Any, state: Any = None) -> tuple[np.ndarray, Any, dict]:
        """Run all layers over ``x`` (T, B, I); return ``(y, state_n, cache)``.

        ``y`` (T, B, H) is the last layer's h_t for every t; ``state_n`` is h_n (L, B, H),
        or (h_n, c_n) for the LSTM; ``cache`` is what :meth:`backward` needs.
        """
        x = check_shape("x", x, ("T", "B", self.input_size), self.dtype)  # (T, B, I)
        T, B, _ = x.shape
        if T == 0 or B == 0:
            raise RnnkitError(f"x: expected T >= 1 and B >= 1, got shape {_fmt(x.shape)}")
        states0 = self._check_state(state, B, prefix="")  # each (L, B, H)
        layer_in = x
        finals: list[list[np.ndarray]] = [[] for _ in self.state_names]
        caches = []
        for k in range(self.num_layers):
            layer_in, state_n, cache_k = self._layer_forward(
                k, layer_in, tuple(s[k] for s in states0))  # (T, B, H)
            for slot, s in zip(finals, state_n):
                slot.append(s)
            caches.append(cache_k)
        state_out = tuple(np.stack(slot) for slot in finals)  # each (L, B, H)
        cache = {"owner": id(self), "T": T, "B": B, "layers": caches}
        return layer_in, self._pack_state(state_out), cache

    __call__ = forward

    # ----------------------------------------------------------------- backward
    def backward(
        self, dy: Any, cache: dict, dstate: Any = None, truncate: int | None = None
    ) -> tuple[np.ndarray, Any, dict[str, np.ndarray]]:
        """BPTT: gradients of a loss L given dL/dy (T, B, H) and dL/dstate_n.

        Returns ``(dx, dstate0, grads)``: dL/dx (T, B, I); dL/dh0 (L, B, H), or
        (dL/dh0, dL/dc0) for the LSTM; and ``grads``, keyed by the parameter names.

        Truncation (``truncate=k``): the gradient that enters at step t (``dy[t]``, and
        ``dstate`` at t = T-1) flows back through steps t, t-1, ..., t-k+1 only, in every
        layer. The states of all layers after step t-k are the boundary: their gradient
        from this entry point is dropped, as if they had been detached. When t-k+1 <= 0 the
        path reaches the initial state, so dstate0 collects the entries at t <= k-1. k >= T
        is full BPTT. This equals summing, over t, full BPTT of the loss term at t through
        the window [max(0, t-k+1), t], which is how it is computed (cost O(T k)).
        """
        if not isinstance(cache, dict) or cache.get("owner") != id(self):
            raise RnnkitError("cache: expected the cache returned by this layer's forward")
        T, B = cache["T"], cache["B"]
        dy = check_shape("dy", dy, (T, B, self.hidden_size), self.dtype)  # (T, B, H)
        dstates_n = self._check_state(dstate, B, prefix="d")  # each (L, B, H)
        if truncate is not None:
            truncate = _check_positive_int("truncate", truncate)
        if truncate is None or truncate >= T:
            return self._backward_window(dy, cache, dstates_n, 0, T)

        dx = np.zeros((T, B, self.input_size), dtype=self.dtype)
        dstates0 = [np.zeros_like(s) for s in dstates_n]
        grads = self.zero_grads()
        no_dstate = tuple(np.zeros_like(s) for s in dstates_n)
        for t in range(T):
            lo = max(0, t - truncate + 1)
            dy_w = np.zeros_like(dy[lo:t + 1])  # (t+1-lo, B, H): only step t carries dy
            dy_w[-1] = dy[t]
            dx_w, ds0_w, g_w = self._backward_window(
                dy_w, cache, dstates_n if t == T - 1 else no_dstate, lo, t + 1)
            dx[lo:t + 1] += dx_w
            for name, g in g_w.items():
                grads[name] += g
            if lo == 0:  # the path reached the initial state
                for acc, d in zip(dstates0, self._unpack_state(ds0_w), strict=True):
                    acc += d
        return dx, self._pack_state(tuple(dstates0)), grads

    def _backward_window(self, dy, cache, dstates_n, lo, hi):
        """Full BPTT over steps lo..hi-1 of every layer, top layer first."""
        grads = self.zero_grads()
        dstates0: list[list[np.ndarray]] = [[] for _ in self.state_names]
        d_out = dy  # (hi-lo, B, H): gradient w.r.t. this layer's outputs
        for k in reversed(range(self.num_layers)):
            cache_k = {name: arr[lo:hi] for name, arr in cache["layers"][k].items()}
            d_out, ds0, g_k = self._layer_backward(
                k, d_out, cache_k, tuple(s[k] for s in dstates_n))  # (hi-lo, B, I_k)
            for slot, d in zip(dstates0, ds0):
                slot.insert(0, d)
            for name, g in g_k.items():
                grads[name] += g
        return d_out, self._pack_state(tuple(np.stack(s) for s in dstates0)), grads

    # ------------------------------------------------------------ per subclass
    def _weights(self, k: int):
        """(W_ih, W_hh, b_ih, b_hh) of layer k; biases are zeros when bias=False."""
        p = self.params
        w_ih, w_hh = p[f"weight_ih_l{k}"], p[f"weight_hh_l{k}"]
        if self.bias:
            return w_ih, w_hh, p[f"bias_ih_l{k}"], p[f"bias_hh_l{k}"]
        zeros = np.zeros(w_ih.shape[0], dtype=self.dtype)
        return w_ih, w_hh, zeros, zeros

    def _layer_grads(self, k, dw_ih, dw_hh, db_ih, db_hh) -> dict[str, np.ndarray]:
        grads = {f"weight_ih_l{k}": dw_ih, f"weight_hh_l{k}": dw_hh}
        if self.bias:
            grads[f"bias_ih_l{k}"] = db_ih
            grads[f"bias_hh_l{k}"] = db_hh
        return grads

    def _layer_forward(self, k, x, state0):  # pragma: no cover - abstract
        raise NotImplementedError

    def _layer_backward(self, k, dy, cache, dstate_n):  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bias={self.bias}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
