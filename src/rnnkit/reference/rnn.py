"""The Elman RNN in NumPy, with backpropagation through time written by hand."""
from __future__ import annotations

from typing import Callable

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.reference._layer import RecurrentReference

__all__ = ["RNN"]

Activation = Callable[[np.ndarray], np.ndarray]


def _tanh_prime(a: np.ndarray) -> np.ndarray:
    return 1.0 - np.tanh(a) ** 2


def _relu(a: np.ndarray) -> np.ndarray:
    return np.maximum(a, 0.0)


def _relu_prime(a: np.ndarray) -> np.ndarray:
    return (a > 0).astype(a.dtype)  # 0 at a == 0, as torch's relu backward


def _resolve_nonlinearity(nonlinearity) -> tuple[str, Activation, Activation]:
    if isinstance(nonlinearity, str):
        if nonlinearity == "tanh":
            return "tanh", np.tanh, _tanh_prime
        if nonlinearity == "relu":
            return "relu", _relu, _relu_prime
    elif (isinstance(nonlinearity, (tuple, list)) and len(nonlinearity) == 2
          and all(callable(f) for f in nonlinearity)):
        f, f_prime = nonlinearity
        return getattr(f, "__name__", "custom"), f, f_prime
    raise RnnkitError(
        "nonlinearity: expected 'tanh', 'relu' or a pair (f, f_prime) of callables, "
        f"got {nonlinearity!r}")


class RNN(RecurrentReference):
    r"""Multi-layer Elman RNN, the NumPy reference for ``torch.nn.RNN``.

    For each layer k and step t (the input of layer 0 is x_t, of layer k > 0 the h_t of
    layer k-1)::

        a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh      # pre-activation, (B, H)
        h_t = f(a_t)                                     # f = tanh, relu, or your own

    This is the tutorial's h_t = f(W_hx x_t + W_hh h_{t-1} + b_h) with b_h = b_ih + b_hh.

    Args:
        input_size: I, features of x_t.
        hidden_size: H, features of h_t.
        num_layers: L, stacked layers.
        nonlinearity: "tanh", "relu", or a pair ``(f, f_prime)`` of elementwise NumPy
            callables where ``f_prime(a)`` is f'(a), the derivative at the pre-activation.
        bias: False drops b_ih and b_hh.
        seed: int or ``np.random.Generator`` for the initialisation, which draws every
            parameter from U(-1/sqrt(H), 1/sqrt(H)) as torch does.

    Parameters (``params`` / ``state_dict()``), exactly torch's: ``weight_ih_l{k}``
    (H, I_k), ``weight_hh_l{k}`` (H, H), ``bias_ih_l{k}`` (H,), ``bias_hh_l{k}`` (H,).

    Shapes: x (T, B, I), time-major; h0 and h_n (L, B, H); y (T, B, H). (torch's N = B,
    L = T, H_in = I, H_out = H.) Only ``batch_first=False`` exists here.

    Equivalent plain loop for one layer::

        h = h0
        for t in range(T):
            h = f(x[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
            y[t] = h
    """

    gate_count = 1
    state_names = ("h",)

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh",
                 bias=True, *, seed=None):
        self.nonlinearity, self._f, self._f_prime = _resolve_nonlinearity(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, seed=seed)

    def _layer_forward(self, k, x, state0):
        w_ih, w_hh, b_ih, b_hh = self._weights(k)
        T, B, _ = x.shape
        (h,) = state0  # (B, H)
        h_prev = np.empty((T, B, self.hidden_size), dtype=self.dtype)  # (T, B, H)
        a = np.empty_like(h_prev)  # (T, B, H)
        y = np.empty_like(h_prev)  # (T, B, H)
        for t in range(T):
            h_prev[t] = h
            a[t] = x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (B, H)
            h = self._f(a[t])  # (B, H)
            y[t] = h
        return y, (h,), {"x": x, "h_prev": h_prev, "a": a}

    def _layer_backward(self, k, dy, cache, dstate_n):
        w_ih, w_hh, _, _ = self._weights(k)
        x, h_prev, a = cache["x"], cache["h_prev"], cache["a"]
        T = x.shape[0]
        dx = np.zeros_like(x)  # (T, B, I_k)
        dw_ih, dw_hh = np.zeros_like(w_ih), np.zeros_like(w_hh)
        db_ih = np.zeros(w_ih.shape[0], dtype=self.dtype)
        db_hh = np.zeros_like(db_ih)
        (dh_next,) = dstate_n  # (B, H): dL/dh_t arriving from step t+1 (or from dh_n)
        for t in reversed(range(T)):
            dh = dy[t] + dh_next  # h_t feeds y_t and step t+1: dL/dh_t = dy_t + dh_next
            da = dh * self._f_prime(a[t])  # h_t = f(a_t): dL/da_t = dL/dh_t * f'(a_t)
            dw_ih += da.T @ x[t]  # a_t = W_ih x_t + ...: dL/dW_ih += da_t^T x_t
            dw_hh += da.T @ h_prev[t]  # a_t = ... + W_hh h_{t-1}: dL/dW_hh += da_t^T h_{t-1}
            db_ih += da.sum(axis=0)  # a_t = ... + b_ih: dL/db_ih += sum_b da_t
            db_hh += da.sum(axis=0)  # a_t = ... + b_hh: dL/db_hh += sum_b da_t
            dx[t] = da @ w_ih  # dL/dx_t = da_t W_ih
            dh_next = da @ w_hh  # dL/dh_{t-1} = da_t W_hh
        return dx, (dh_next,), self._layer_grads(k, dw_ih, dw_hh, db_ih, db_hh)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"
