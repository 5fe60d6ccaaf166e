"""Mixup of training utterances in the waveform, with soft targets (Zhang et al. 2018).

For a training utterance x_i (label y_i) the augmentation draws, with probability
``audio.aug_prob``, a partner j uniformly from the training set and a weight

    lam ~ Beta(a, a)                                   a = ``audio.aug_mixup`` (0: off)
    x   = lam * x_i + (1 - lam) * sqrt(P_i / P_j) * x_j       P = mean(x^2), the partner brought
                                                               to x_i's power, then weighted;
                                                               the shorter one zero-padded at
                                                               the end: length max(N_i, N_j)
    t   = lam * onehot(y_i) + (1 - lam) * onehot(y_j)     the soft target, (K,), sums to 1

Each of x_i and x_j has been through its own signal augmentation first. The model is trained
against t with the same cross-entropy as a hard label (``torch.nn.functional.cross_entropy``
with class probabilities, label smoothing applied on top). Without a partner (the draw
failed) the target is onehot(y_i), still as a (K,) vector.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from rnnkit.errors import DataError

__all__ = ["check_mixup", "mix_signals", "mixup_item"]


def check_mixup(alpha: float) -> None:
    """One-line error for ``audio.aug_mixup``: a Beta parameter in 0..10 (0: off)."""
    if not (np.isfinite(alpha) and 0.0 <= alpha <= 10.0):
        raise DataError(f"audio aug_mixup must be a Beta parameter in 0..10 (0: off), got {alpha}")


def mix_signals(x: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """lam * x + (1 - lam) * y brought to x's power: (N_x,), (N_y,) -> (max(N_x, N_y),) float32."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    px, py = float(np.mean(x ** 2)) if x.size else 0.0, float(np.mean(y ** 2)) if y.size else 0.0
    scale = np.sqrt(px / py) if px > 0 and py > 0 else 1.0
    out = np.zeros(max(x.size, y.size))
    out[:x.size] += lam * x
    out[:y.size] += (1.0 - lam) * scale * y
    return out.astype(np.float32)


def mixup_item(i: int, rng: np.random.Generator, signal: Callable[[int, np.random.Generator], np.ndarray],
               targets: np.ndarray, n_classes: int, alpha: float, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """(signal (N,), soft target (K,) float32) for training item i.

    ``signal(k, rng)``: item k's augmented signal; ``targets``: the items' class indices (n,).
    The partner and lam are drawn from ``rng`` only when ``alpha`` > 0 (one draw for the
    chance, then the partner and lam when it succeeds).
    """
    target = np.zeros(n_classes, dtype=np.float32)
    x = signal(i, rng)
    if alpha > 0 and rng.random() < prob:
        j = int(rng.integers(len(targets)))
        lam = float(rng.beta(alpha, alpha))
        x = mix_signals(x, signal(j, rng), lam)
        target[int(targets[i])] += lam
        target[int(targets[j])] += 1.0 - lam
    else:
        target[int(targets[i])] = 1.0
    return x, target
