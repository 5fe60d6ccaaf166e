"""The time budget of ``fit``: training *and* validation inside ``train.time_budget`` seconds.

The clock starts when the first epoch starts. After every training batch the trainer
asks :meth:`TimeBudget.stop_training`, which answers yes once

    elapsed + reserve  >=  budget

where ``reserve`` is the time the validation still to come will take: one pass of the
validation loader at the end of this epoch, plus ``extra_passes`` more that the caller
runs after ``fit`` (``rnnkit text train`` scores the best model on the validation text
once more). A pass is estimated as

- the duration of the last complete validation pass, once there has been one;
- before that, ``len(val_loader)`` batches at half the mean training-step time so far
  (a validation batch is a forward pass only; a training step is forward, backward and
  the optimizer, about three forward passes);
- 0 when the loader has no length.

Validation itself checks :meth:`TimeBudget.over` after every batch and stops there when
the estimate was too low (the reported validation loss is then the mean over the
batches it reached), so ``fit`` overruns the budget by at most one batch.

``now`` is the clock (``time.perf_counter``); tests replace it with a fake one.
"""
from __future__ import annotations

import time
from typing import Optional

__all__ = ["TimeBudget", "now"]


def now() -> float:
    return time.perf_counter()


class TimeBudget:
    """``seconds`` None: no budget (every question answers no)."""

    def __init__(self, seconds: Optional[float], extra_passes: int = 0) -> None:
        self.seconds = seconds
        self.extra_passes = extra_passes
        self.start = now()
        self._train_time = 0.0  # summed seconds of training steps
        self._train_steps = 0
        self._val_pass: Optional[float] = None  # seconds of the last complete validation pass

    def elapsed(self) -> float:
        return now() - self.start

    def note_step(self, seconds: float) -> None:
        self._train_time += seconds
        self._train_steps += 1

    def note_validation(self, seconds: float, complete: bool) -> None:
        if complete:
            self._val_pass = seconds

    def pass_estimate(self, val_batches: Optional[int]) -> float:
        """Seconds one validation pass is expected to take (see the module doc)."""
        if self._val_pass is not None:
            return self._val_pass
        if not val_batches or not self._train_steps:
            return 0.0
        return 0.5 * val_batches * self._train_time / self._train_steps

    def stop_training(self, has_val: bool, val_batches: Optional[int]) -> bool:
        """True when the rest of the budget is needed for the validation still to come."""
        if self.seconds is None:
            return False
        passes = (1 if has_val else 0) + self.extra_passes
        return self.elapsed() + passes * self.pass_estimate(val_batches) >= self.seconds

    def over(self) -> bool:
        """True once the budget is spent."""
        return self.seconds is not None and self.elapsed() >= self.seconds
