"""What training on each long-memory task means: data, loss, score and "solved".

A :class:`Problem` wraps one generator of :mod:`rnnkit.diagnostics.tasks` with the
loss the model trains on and the score that decides whether it solved the task:

=========  =================  ==========================  ==============================
task       head               loss                        solved when (held-out set)
=========  =================  ==========================  ==============================
adding     last step, 1 out   MSE                         MSE < 0.01 · MSE of predicting
                                                          the mean (relative MSE < 0.01)
copy       every step, K+2    cross-entropy, last L steps  accuracy on the last L ≥ 0.99
digits     last step, 10      cross-entropy               accuracy ≥ 0.90
=========  =================  ==========================  ==============================

The trivial predictor of the adding problem predicts the held-out targets' mean; its MSE
is their variance, ≈ 1/6, computed from the data rather than assumed.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.diagnostics import tasks
from rnnkit.errors import ConfigError

__all__ = ["Problem", "PROBLEMS", "problem", "COPY_LENGTH", "COPY_SYMBOLS"]

COPY_LENGTH = 10
COPY_SYMBOLS = 8


@dataclass(frozen=True)
class Problem:
    """One task: sizes, the metric's name and the threshold for "solved"."""

    name: str
    input_size: int
    output_size: int
    every_step: bool  # many-to-many head (copy) or many-to-one (adding, digits)
    metric: str  # "relative_mse" (lower is better) or "accuracy" (higher is better)
    threshold: float

    def check_T(self, T: int) -> None:
        if self.name == "digits" and T % tasks.DIGIT_PIXELS:
            raise ConfigError(f"T: the digits task needs multiples of 64, got {T}")
        if self.name == "adding" and T < 2:
            raise ConfigError(f"T: the adding problem needs T >= 2, got {T}")

    def sequence_length(self, T: int) -> int:
        """Steps the model reads: T, or T + 2·L for copy memory."""
        return T + 2 * COPY_LENGTH if self.name == "copy" else T

    def batch(self, batch: int, T: int, seed: int) -> tuple[Tensor, Tensor]:
        """A fresh training batch (adding, copy) or a seeded draw from the train split."""
        if self.name == "adding":
            return tasks.adding_problem(batch, T, seed)
        if self.name == "copy":
            return tasks.copy_memory(batch, T, seed, length=COPY_LENGTH, symbols=COPY_SYMBOLS)
        x, y = _digits(T, "train")
        rows = torch.randint(len(y), (batch,), generator=torch.Generator().manual_seed(seed))
        return x[rows], y[rows]

    def held_out(self, size: int, T: int, seed: int) -> tuple[Tensor, Tensor]:
        """The evaluation set: ``size`` fresh sequences, or the digits test split."""
        if self.name == "digits":
            return _digits(T, "test")
        return self.batch(size, T, seed)

    def loss(self, pred: Tensor, y: Tensor) -> Tensor:
        """pred: (B, O) many-to-one, or (B, T', K+2) logits for copy."""
        if self.name == "adding":
            return F.mse_loss(pred, y)
        if self.name == "copy":
            tail = pred[:, -COPY_LENGTH:]  # (B, L, K+2)
            return F.cross_entropy(tail.reshape(-1, tail.shape[-1]), y[:, -COPY_LENGTH:].reshape(-1))
        return F.cross_entropy(pred, y)

    def score(self, pred: Tensor, y: Tensor) -> float:
        """Relative MSE (adding) or accuracy (copy: on the last L steps; digits)."""
        if self.name == "adding":
            trivial = torch.mean((y - y.mean()) ** 2)  # MSE of predicting the mean, ≈ 1/6
            return float(F.mse_loss(pred, y) / trivial)
        if self.name == "copy":
            hits = pred[:, -COPY_LENGTH:].argmax(-1) == y[:, -COPY_LENGTH:]
            return float(hits.float().mean())
        return float((pred.argmax(-1) == y).float().mean())

    def solved(self, score: float) -> bool:
        if self.metric == "relative_mse":
            return score < self.threshold
        return score >= self.threshold


def _digits(T: int, split: str) -> tuple[Tensor, Tensor]:
    key = (T, split)
    if key not in _DIGITS_CACHE:
        _DIGITS_CACHE[key] = tasks.sequential_digits(T, seed=0, split=split)
    return _DIGITS_CACHE[key]


_DIGITS_CACHE: dict[tuple[int, str], tuple[Tensor, Tensor]] = {}

PROBLEMS = {
    "adding": Problem("adding", 2, 1, False, "relative_mse", 0.01),
    "copy": Problem("copy", COPY_SYMBOLS + 2, COPY_SYMBOLS + 2, True, "accuracy", 0.99),
    "digits": Problem("digits", 1, 10, False, "accuracy", 0.90),
}


def problem(name: str) -> Problem:
    try:
        return PROBLEMS[name]
    except KeyError:
        raise ConfigError(f"task: expected one of {', '.join(PROBLEMS)}, got {name!r}") from None
