"""Window slicing for :class:`~rnnkit.tasks.classify.Classifier` (``crop`` < 1).

Only series of at least ``min_length`` steps are sliced (:func:`is_cropped`); a shorter one
is trained on and predicted whole, always. Short archive series are whole, aligned records
(an utterance's 7-29 frames, a day's 24 hours), where a window drops a large share of the
content and shifts what each position means; the default minimum, :data:`MIN_LENGTH` = 64,
is above the default network's 55-step convolutional receptive field, so a sliced series
is still longer than what one convolution output sees.

Training: each time a series of length T >= min_length is drawn it is replaced by a random
contiguous window of L = crop_length(T, crop) = max(1, round(crop * T)) steps,

    x[s : s + L],   s ~ Uniform{0, ..., T - L}

(variable-length sets: each series is cropped by the fraction of its own length).

Prediction: the class probabilities of a series are the mean over ``VIEWS`` windows of the
same length L at evenly spaced starts,

    p(x) = (1 / V) * sum_v p(x[s_v : s_v + L]),   s_v = round(v * (T - L) / (V - 1)),  v = 0..V-1

which is deterministic, and, as every window is its own sequence in a packed batch,
independent of the other series in the batch (a series shorter than min_length: one view,
the whole series).
"""
from __future__ import annotations

import numpy as np
import torch

from rnnkit.data.sequences import collate_packed

__all__ = ["VIEWS", "MIN_LENGTH", "is_cropped", "crop_length", "random_crop", "crop_starts", "views",
           "windowed_proba"]

VIEWS = 5  # windows averaged per series at prediction
MIN_LENGTH = 64  # Classifier's default crop_min_length


def is_cropped(length: int, crop: float, min_length: int = 1) -> bool:
    """Whether a series of ``length`` steps is window-sliced: ``crop < 1`` and ``length >= min_length``."""
    return crop < 1.0 and length >= min_length


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


def views(x: np.ndarray, crop: float, min_length: int = 1) -> list[np.ndarray]:
    """The windows a series ``x`` (T, C) is predicted on: the ``VIEWS`` evenly spaced windows
    of crop_length(T, crop) steps, or ``[x]`` whole if it is not cropped (:func:`is_cropped`)."""
    if not is_cropped(len(x), crop, min_length):
        return [x]
    length = crop_length(len(x), crop)
    return [x[b:b + length] for b in crop_starts(len(x), crop).tolist()]


def windowed_proba(network, seqs: list[np.ndarray], crop: float, min_length: int, batch_size: int = 64) -> np.ndarray:
    """The ``network``'s class probabilities (n, K), float64, rows summing to 1, for normalised
    series ``seqs`` (T_i, C): each series' mean over its :func:`views` (the series whole when it
    is not cropped), every window its own sequence in packed batches of ``batch_size``."""
    if crop < 1.0:  # every window its own sequence; owner[j]: the series window j comes from
        windows = [views(s, crop, min_length) for s in seqs]
        owner = np.repeat(np.arange(len(seqs)), [len(w) for w in windows])
        seqs = [w for ws in windows for w in ws]
    out = []
    with torch.no_grad():
        for start in range(0, len(seqs), batch_size):
            batch = collate_packed([(s, 0) for s in seqs[start:start + batch_size]])
            out.append(network.predict_proba(batch["x"]).double().numpy())  # (b, K)
    probs = np.concatenate(out, axis=0)  # (n or n * VIEWS, K)
    if crop < 1.0:
        sums = np.zeros((int(owner.max()) + 1 if len(owner) else 0, probs.shape[1]))
        np.add.at(sums, owner, probs)
        probs = sums / np.bincount(owner)[:, None]
    return probs / probs.sum(axis=1, keepdims=True)
