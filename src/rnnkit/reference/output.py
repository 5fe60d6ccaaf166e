"""The output layer y_t = g(W_hy h_t + b_y), with g the identity or the softmax."""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.reference._layer import check_shape

__all__ = ["Output", "softmax"]


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)_j = exp(z_j) / sum_m exp(z_m) over the last axis (shifted: no overflow)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Output:
    r"""The tutorial's output layer, applied to every time step at once.

    ::

        z_t = W_hy h_t + b_y        # (..., O), logits
        y_t = g(z_t)                # g = identity (regression) or softmax (classes)

    Parameters, named as ``torch.nn.Linear``'s: ``weight`` (O, H) and ``bias`` (O,), both
    ~ U(-1/sqrt(H), 1/sqrt(H)). Input h of shape (..., H), e.g. (T, B, H); output (..., O).
    """

    activations = ("identity", "softmax")

    def __init__(self, hidden_size: int, output_size: int, activation: str = "identity",
                 bias: bool = True, *, seed: int | np.random.Generator | None = None) -> None:
        if activation not in self.activations:
            raise RnnkitError(
                f"activation: expected 'identity' or 'softmax', got {activation!r}")
        for name, value in (("hidden_size", hidden_size), ("output_size", output_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise RnnkitError(f"{name}: expected a positive int, got {value!r}")
        self.hidden_size, self.output_size = hidden_size, output_size
        self.activation, self.bias = activation, bias
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(hidden_size)
        self.params = {"weight": rng.uniform(-bound, bound, (output_size, hidden_size))}
        if bias:
            self.params["bias"] = rng.uniform(-bound, bound, (output_size,))

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self.params.items()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        shapes = {name: value.shape for name, value in self.params.items()}
        for name in state_dict:
            if name not in shapes:
                raise RnnkitError(f"state_dict: unexpected key {name!r}")
        loaded = {}
        for name, shape in shapes.items():
            if name not in state_dict:
                raise RnnkitError(f"state_dict: missing key {name!r}")
            loaded[name] = check_shape(name, state_dict[name], shape, np.float64).copy()
        self.params = loaded

    def forward(self, h: Any) -> tuple[np.ndarray, dict]:
        """Return ``(y, cache)`` for h (..., H)."""
        h = np.asarray(h, dtype=np.float64)
        if h.ndim == 0 or h.shape[-1] != self.hidden_size:
            raise RnnkitError(
                f"h: expected shape (..., {self.hidden_size}), got {tuple(h.shape)}")
        z = h @ self.params["weight"].T  # (..., O)
        if self.bias:
            z = z + self.params["bias"]
        y = softmax(z) if self.activation == "softmax" else z  # (..., O)
        return y, {"h": h, "y": y}

    __call__ = forward

    def backward(self, dy: Any, cache: dict) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Return ``(dh, grads)`` given dL/dy of the same shape as y."""
        h, y = cache["h"], cache["y"]
        dy = check_shape("dy", dy, y.shape, np.float64)
        if self.activation == "softmax":
            # y = softmax(z): dL/dz_j = y_j (dL/dy_j - sum_m dL/dy_m y_m)
            dz = y * (dy - (dy * y).sum(axis=-1, keepdims=True))
        else:
            dz = dy  # y = z
        h2, dz2 = h.reshape(-1, self.hidden_size), dz.reshape(-1, self.output_size)
        grads = {"weight": dz2.T @ h2}  # z = W_hy h + b_y: dL/dW_hy = sum dz^T h, (O, H)
        if self.bias:
            grads["bias"] = dz2.sum(axis=0)  # dL/db_y = sum dz, (O,)
        dh = dz @ self.params["weight"]  # dL/dh = dz W_hy, (..., H)
        return dh, grads
