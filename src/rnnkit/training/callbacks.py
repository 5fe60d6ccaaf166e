"""Trainer callbacks: a no-op base class, the dispatcher, and the TensorBoard logger.

A callback is any object with some of these methods (all optional)::

    on_fit_start(trainer)
    on_epoch_start(trainer, epoch)
    on_batch_end(trainer, step, loss)        # step: global optimizer step, loss: float
    on_epoch_end(trainer, epoch, metrics)    # metrics: the row written to metrics.csv
    on_fit_end(trainer)

A callback may call ``trainer.request_stop("reason")``; the run then ends after the
current epoch's checkpoint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from rnnkit.errors import ConfigError

__all__ = ["Callback", "dispatch", "TensorBoardLogger"]

HOOKS = ("on_fit_start", "on_epoch_start", "on_batch_end", "on_epoch_end", "on_fit_end")


class Callback:
    """Base class with every hook as a no-op (subclassing is optional)."""

    def on_fit_start(self, trainer: Any) -> None: ...

    def on_epoch_start(self, trainer: Any, epoch: int) -> None: ...

    def on_batch_end(self, trainer: Any, step: int, loss: float) -> None: ...

    def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict) -> None: ...

    def on_fit_end(self, trainer: Any) -> None: ...


def dispatch(callbacks: Iterable[Any], hook: str, *args: Any) -> None:
    """Call ``hook(*args)`` on every callback that defines it."""
    for cb in callbacks:
        fn = getattr(cb, hook, None)
        if fn is not None:
            fn(*args)


class TensorBoardLogger(Callback):
    """Writes each epoch's numeric metrics to ``<run_dir>/tensorboard`` (needs tensorboard)."""

    def __init__(self, log_dir: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "train.tensorboard = true needs the tensorboard package: pip install 'rnnkit[tensorboard]'"
            ) from None
        self.writer = SummaryWriter(log_dir=str(log_dir))

    def on_epoch_end(self, trainer: Any, epoch: int, metrics: dict) -> None:
        for key, value in metrics.items():
            if key != "epoch" and isinstance(value, (int, float)) and value is not None:
                self.writer.add_scalar(key, value, epoch)
        self.writer.flush()

    def on_fit_end(self, trainer: Any) -> None:
        self.writer.close()
