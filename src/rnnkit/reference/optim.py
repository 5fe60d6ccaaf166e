"""Adam in NumPy, for training the reference layers without torch."""
from __future__ import annotations

import numpy as np

from rnnkit.errors import RnnkitError

__all__ = ["Adam"]


class Adam:
    r"""Adam (Kingma & Ba), updating a dict of arrays in place.

    For each parameter theta with gradient g, at step t = 1, 2, ...::

        m = beta1 m + (1 - beta1) g
        v = beta2 v + (1 - beta2) g^2
        theta -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

    ``params`` is a dict name -> array (e.g. ``layer.params``); ``step(grads)`` takes a dict
    with the same names. Several dicts can be joined by giving distinct name prefixes.
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        if not lr > 0:
            raise RnnkitError(f"lr: expected a positive number, got {lr!r}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise RnnkitError(f"betas: expected two numbers in [0, 1), got {betas!r}")
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = {name: np.zeros_like(p) for name, p in params.items()}
        self.v = {name: np.zeros_like(p) for name, p in params.items()}
        self.t = 0

    def step(self, grads: dict[str, np.ndarray]) -> None:
        missing = set(self.params) - set(grads)
        if missing:
            raise RnnkitError(f"grads: missing key {sorted(missing)[0]!r}")
        self.t += 1
        beta1, beta2 = self.betas
        for name, p in self.params.items():
            g = grads[name]
            self.m[name] = beta1 * self.m[name] + (1.0 - beta1) * g
            self.v[name] = beta2 * self.v[name] + (1.0 - beta2) * g * g
            m_hat = self.m[name] / (1.0 - beta1**self.t)
            v_hat = self.v[name] / (1.0 - beta2**self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)  # in place: the caller's array
