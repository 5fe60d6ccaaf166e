"""Window slicing for :class:`~rnnkit.tasks.classify.Classifier` (``crop`` < 1).

Training: each time a series of length T is drawn it is replaced by a random contiguous
window of L = crop_length(T, crop) = max(1, round(crop * T)) steps,

    x[s : s + L],   s ~ Uniform{0, ..., T - L}

(variable-length sets: each series is cropped by the fraction of its own length).

Prediction: the class probabilities of a series are the mean over ``VIEWS`` windows of the
same length L at evenly spaced starts,

    p(x) = (1 / V) * sum_v p(x[s_v : s_v + L]),   s_v = round(v * (T - L) / (V - 1)),  v = 0..V-1

which is deterministic, and, as every window is its own sequence in a packed batch,
independent of the other series in the batch.
"""
from __future__ import annotations

import numpy as np

__all__ = ["VIEWS", "crop_length", "random_crop", "crop_starts"]

VIEWS = 5  # windows averaged per series at prediction


def crop_length(length: int, crop: float) -> int:
    """Window length for a series of ``length`` steps: ``max(1, round(crop * length))``."""
    return max(1, min(length, int(round(crop * length))))


def random_crop(x: np.ndarray, crop: float, rng: np.random.Generator) -> np.ndarray:
    """A random contiguous window of ``x`` (T, C) -> (L, C), L = crop_length(T, crop)."""
    length = crop_length(len(x), crop)
    start = int(rng.integers(0, len(x) - length + 1))
    return x[start:start + length]


def crop_starts(length: int, crop: float, views: int = VIEWS) -> np.ndarray:
    """The ``views`` evenly spaced window starts for a series of ``length`` steps (ints)."""
    span = length - crop_length(length, crop)
    return np.round(np.linspace(0, span, views)).astype(np.int64)
