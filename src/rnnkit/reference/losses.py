"""Losses with their gradients: each returns ``(loss, dloss/dinput)``, averaged as torch does."""
from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.reference._layer import check_shape

__all__ = ["mse_loss", "cross_entropy_loss", "nll_loss"]


def mse_loss(pred: Any, target: Any) -> tuple[float, np.ndarray]:
    """L = mean((pred - target)^2) over all N elements; dL/dpred = 2 (pred - target) / N."""
    pred = np.asarray(pred, dtype=np.float64)
    target = check_shape("target", target, pred.shape, np.float64)
    diff = pred - target
    return float((diff**2).mean()), 2.0 * diff / diff.size


def _check_targets(target: Any, rows: tuple[int, ...], classes: int) -> np.ndarray:
    target = np.asarray(target)
    if target.shape != rows:
        raise RnnkitError(f"target: expected shape {rows}, got {tuple(target.shape)}")
    if not np.issubdtype(target.dtype, np.integer):
        raise RnnkitError(f"target: expected integer class indices, got dtype {target.dtype}")
    bad = (target < 0) | (target >= classes)
    if bad.any():
        raise RnnkitError(
            f"target: expected class indices in [0, {classes}), got {int(target[bad][0])}")
    return target


def cross_entropy_loss(logits: Any, target: Any) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy from logits z (..., C) and integer targets (...), as
    ``torch.nn.functional.cross_entropy`` with the classes last.

    L = mean over rows of -log softmax(z)[target];  dL/dz = (softmax(z) - onehot) / N.
    """
    z = np.asarray(logits, dtype=np.float64)
    target = _check_targets(target, z.shape[:-1], z.shape[-1])
    shifted = z - z.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # (..., C)
    picked = np.take_along_axis(log_p, target[..., None], axis=-1)  # (..., 1)
    n = picked.size
    grad = np.exp(log_p)
    np.put_along_axis(grad, target[..., None],
                      np.take_along_axis(grad, target[..., None], axis=-1) - 1.0, axis=-1)
    return float(-picked.mean()), grad / n


def nll_loss(probs: Any, target: Any) -> tuple[float, np.ndarray]:
    """Cross-entropy from probabilities p (..., C), e.g. the softmax output layer's y.

    L = mean over rows of -log p[target];  dL/dp = -onehot / (N p).
    """
    p = np.asarray(probs, dtype=np.float64)
    target = _check_targets(target, p.shape[:-1], p.shape[-1])
    picked = np.take_along_axis(p, target[..., None], axis=-1)  # (..., 1)
    n = picked.size
    grad = np.zeros_like(p)
    np.put_along_axis(grad, target[..., None], -1.0 / (n * picked), axis=-1)
    return float(-np.log(picked).mean()), grad
