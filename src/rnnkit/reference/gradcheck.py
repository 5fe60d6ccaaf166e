"""Check hand-written gradients against float64 central differences.

Default step eps = 1e-5: in float64 it balances the O(eps^2) truncation error of the central
difference against the O(1e-16 / eps) rounding error.

The scalar checked for a recurrent layer is the weighted sum of everything it returns::

    F = sum(y * W_y) + sum(h_n * W_h) [+ sum(c_n * W_c)]

with fixed random weights W, so dF/dy = W_y and dF/dstate_n = (W_h[, W_c]) are fed to
``backward`` and every parameter, the input x and the initial state are checked.
Each numerical derivative is the central difference
``(F(theta + eps) - F(theta - eps)) / (2 eps)`` of one element at a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from rnnkit.reference._layer import RecurrentReference

__all__ = [
    "GradcheckResult", "relative_error", "numerical_gradient", "check_gradients", "gradcheck",
]


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor_ratio: float = 1e-3) -> float:
    """Largest elementwise relative error: max_i |a_i - n_i| / max(|a_i|, |n_i|, floor).

    ``floor = floor_ratio * max(max|a|, max|n|, 1)``: an element more than 1000 times
    smaller than the array's largest is measured against that floor, because its central
    difference is dominated by rounding (about 1e-16 |F| / eps), not by any error in the
    analytic gradient. Every other element is compared relative to itself.
    """
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if a.size == 0:
        return 0.0
    floor = floor_ratio * max(np.abs(a).max(), np.abs(n).max(), 1.0)
    return float((np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)).max())


def numerical_gradient(fn: Callable[[], float], array: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """dfn/darray by central differences; ``array`` is perturbed in place and restored."""
    grad = np.zeros_like(array, dtype=np.float64)
    flat, gflat = array.reshape(-1), grad.reshape(-1)  # views
    for j in range(flat.size):
        keep = flat[j]
        flat[j] = keep + eps
        up = fn()
        flat[j] = keep - eps
        down = fn()
        flat[j] = keep
        gflat[j] = (up - down) / (2.0 * eps)
    return grad


@dataclass
class GradcheckResult:
    """Relative error per checked array, and the largest of them."""

    errors: dict[str, float] = field(default_factory=dict)

    @property
    def max_rel_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def worst(self) -> str:
        return max(self.errors, key=self.errors.get) if self.errors else ""

    def __str__(self) -> str:
        return f"max relative error {self.max_rel_error:.3e} (worst: {self.worst})"


def check_gradients(
    fn: Callable[[], float],
    arrays: dict[str, np.ndarray],
    analytic: dict[str, np.ndarray],
    eps: float = 1e-5,
) -> GradcheckResult:
    """Compare ``analytic[name]`` with the numerical gradient of ``fn`` w.r.t. ``arrays[name]``.

    ``fn`` must read the arrays in place (they are perturbed and restored one element at
    a time) and return a float64 scalar.
    """
    result = GradcheckResult()
    for name, array in arrays.items():
        if array.dtype != np.float64:
            raise TypeError(f"{name}: gradcheck needs float64, got {array.dtype}")
        result.errors[name] = relative_error(analytic[name], numerical_gradient(fn, array, eps))
    return result


def gradcheck(
    layer: RecurrentReference,
    x: np.ndarray,
    state: Any = None,
    *,
    eps: float = 1e-5,
    seed: int | np.random.Generator | None = 0,
) -> GradcheckResult:
    """Check ``layer.backward`` w.r.t. every parameter, ``x`` and the initial state.

    ``state`` defaults to random values (so that its gradient is checked too). Errors are
    keyed by parameter name, ``"x"``, and ``"h0"`` (and ``"c0"`` for the LSTM).
    """
    rng = np.random.default_rng(seed)
    x = np.array(x, dtype=np.float64)  # (T, B, I), a private copy we may perturb
    T, B = x.shape[0], x.shape[1]
    shape = (layer.num_layers, B, layer.hidden_size)  # (L, B, H)
    names = tuple(f"{s}0" for s in layer.state_names)
    if state is None:
        states = tuple(rng.standard_normal(shape) * 0.5 for _ in names)
    else:
        states = (state,) if len(names) == 1 else tuple(state)
    states = tuple(np.array(s, dtype=np.float64) for s in states)

    def as_state():
        return states[0] if len(states) == 1 else states

    w_y = rng.standard_normal((T, B, layer.hidden_size))
    w_state = tuple(rng.standard_normal(shape) for _ in names)

    def weighted_sum() -> float:
        y, state_n, _ = layer.forward(x, as_state())
        finals = (state_n,) if len(names) == 1 else state_n
        return float((y * w_y).sum() + sum((s * w).sum() for s, w in zip(finals, w_state)))

    _, _, cache = layer.forward(x, as_state())
    dx, dstate0, grads = layer.backward(
        w_y, cache, w_state[0] if len(names) == 1 else w_state)
    dstates0 = (dstate0,) if len(names) == 1 else dstate0
    arrays = {**layer.params, "x": x, **dict(zip(names, states))}
    analytic = {**grads, "x": dx, **dict(zip(names, dstates0))}
    return check_gradients(weighted_sum, arrays, analytic, eps)
