"""The classic long-memory tasks, as seeded generators of batch-first tensors.

Each generator is deterministic: the same ``seed`` gives the same tensors, on any
machine (NumPy's PCG64 ``default_rng``), and different seeds give independent draws.

**Adding problem** (Hochreiter & Schmidhuber 1997; Le et al. 2015). Input x (B, T, 2):
channel 0 holds values v_t ~ U[0, 1], channel 1 a marker m_t that is 1 at exactly two
steps, one in the first half and one in the second half, 0 elsewhere. Target
y = Σ_t m_t v_t, shape (B, 1). Predicting the mean, E[y] = 1, scores
MSE = Var(v_1 + v_2) = 2/12 = 1/6: the trivial predictor the task is judged against.

**Copy memory** (Arjovsky et al. 2016). With K symbols 1..K, a blank 0 and a delimiter
K+1: the input is ``length`` random symbols, then T blanks, the last of which is replaced
by the delimiter, then ``length`` more blanks; total ``T + 2·length`` steps, one-hot
x (B, T + 2·length, K + 2). The target is class indices (B, T + 2·length): blanks
everywhere except the last ``length`` steps, which repeat the symbols. Guessing
uniformly among the K symbols there scores cross-entropy log K.

**Sequential digits** (pixel-by-pixel MNIST in miniature; Le et al. 2015). scikit-learn's
bundled 8×8 digits (1797 images, 10 classes, grey levels 0..16), read row by row into
x (N, T, 1) scaled to [0, 1], with T = 64·k: each pixel is held for k steps so the
distance from the first pixel to the answer grows with T. Labels y (N,). ``permute``
shuffles the 64 pixel positions with a seeded permutation (the "pMNIST" variant). A
seeded split gives 80 % train, 20 % test.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from rnnkit.errors import ConfigError

__all__ = ["adding_problem", "copy_memory", "sequential_digits", "DIGIT_PIXELS"]

DIGIT_PIXELS = 64  # the 8×8 images, read row by row


def _positive(name: str, value: object, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return value


def adding_problem(batch: int, T: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``batch`` sequences of the adding problem: x (B, T, 2) float32, y (B, 1) float32."""
    _positive("batch", batch)
    _positive("T", T, 2)
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(batch, T))  # (B, T)
    half = T // 2
    first = rng.integers(0, half, size=batch)  # one marker in [0, T/2)
    second = rng.integers(half, T, size=batch)  # and one in [T/2, T)
    marks = np.zeros((batch, T))
    rows = np.arange(batch)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    x = np.stack([values, marks], axis=-1)  # (B, T, 2)
    y = (values * marks).sum(axis=1, keepdims=True)  # (B, 1)
    return torch.from_numpy(x).float(), torch.from_numpy(y).float()


def copy_memory(
    batch: int, T: int, seed: int = 0, *, length: int = 10, symbols: int = 8
) -> tuple[Tensor, Tensor]:
    """Copy-memory sequences: x (B, T + 2·length, symbols + 2) one-hot float32,
    y (B, T + 2·length) int64 class indices (0 blank, 1..symbols, symbols + 1 delimiter)."""
    _positive("batch", batch)
    _positive("T", T)
    _positive("length", length)
    _positive("symbols", symbols, 2)
    rng = np.random.default_rng(seed)
    total = T + 2 * length
    data = rng.integers(1, symbols + 1, size=(batch, length))  # (B, length)
    ids = np.zeros((batch, total), dtype=np.int64)  # (B, T + 2L)
    ids[:, :length] = data
    ids[:, length + T - 1] = symbols + 1  # the delimiter: "now repeat"
    target = np.zeros((batch, total), dtype=np.int64)
    target[:, -length:] = data
    x = np.eye(symbols + 2, dtype=np.float32)[ids]  # (B, T + 2L, K + 2)
    return torch.from_numpy(x), torch.from_numpy(target)


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ConfigError(
            "task 'digits' needs scikit-learn (its 8x8 digits ship inside it); "
            "install it with: pip install 'rnnkit[diagnostics]'"
        ) from None
    bunch = load_digits()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)


def sequential_digits(
    T: int = DIGIT_PIXELS, seed: int = 0, *, permute: bool = False, split: str = "train"
) -> tuple[Tensor, Tensor]:
    """Pixel-by-pixel 8×8 digits: x (N, T, 1) float32 in [0, 1], y (N,) int64.

    ``T`` must be a multiple of 64 (each pixel is held for T/64 steps); ``split`` is
    "train" (80 %), "test" (20 %) or "all" (all 1797 images, in scikit-learn's order).
    """
    _positive("T", T)
    if T % DIGIT_PIXELS:
        raise ConfigError(f"T: the digits task needs a multiple of {DIGIT_PIXELS}, got {T}")
    if split not in ("train", "test", "all"):
        raise ConfigError(f"split: expected 'train', 'test' or 'all', got {split!r}")
    images, labels = _load_digits()  # (1797, 64), (1797,)
    rng = np.random.default_rng(seed)
    order = rng.permutation(DIGIT_PIXELS) if permute else np.arange(DIGIT_PIXELS)
    pixels = images[:, order] / 16.0  # (N, 64) in [0, 1]
    if split != "all":
        shuffled = rng.permutation(len(labels))
        cut = int(round(0.8 * len(labels)))
        keep = shuffled[:cut] if split == "train" else shuffled[cut:]
        pixels, labels = pixels[keep], labels[keep]
    x = np.repeat(pixels, T // DIGIT_PIXELS, axis=1)[..., None]  # (N, T, 1)
    return torch.from_numpy(x).float(), torch.from_numpy(labels)
