"""A rich progress bar with rate and time remaining, silent under CI or without a terminal."""
from __future__ import annotations

import os
import sys
from typing import Optional

__all__ = ["progress_enabled", "EpochProgress"]


def progress_enabled(wanted: bool = True) -> bool:
    """True when a bar should be drawn: asked for, not under ``CI=true``, stderr is a TTY."""
    if not wanted:
        return False
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        return False
    return sys.stderr.isatty()


class EpochProgress:
    """One bar per epoch: ``epoch 3/20 ━━━━ 120/400 · 85.2 it/s · 0:00:03 · loss 0.1234``,
    then one for its validation pass.

    Usage::

        with EpochProgress(enabled) as bar:
            bar.start_epoch(epoch, epochs, total_batches)
            bar.advance(loss)
            bar.start_validation(total_val_batches)
            bar.advance(loss)
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress = None
        self._task: Optional[int] = None

    def __enter__(self) -> "EpochProgress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[loss]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
            self._progress = None

    def start_epoch(self, epoch: int, epochs: int, total: Optional[int], label: Optional[str] = None) -> None:
        """A bar for the epoch's batches; ``label`` (e.g. ``member 2/4``) before ``epoch 3/20``,
        or in its place in a run of one epoch."""
        if self._progress is None:
            return
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(
            label if label and epochs == 1 else f"{label + ' · ' if label else ''}epoch {epoch}/{epochs}",
            total=total, rate="", loss=""
        )

    def start_validation(self, total: Optional[int]) -> None:
        """A ``validation`` bar in place of the epoch's (its batches, rate, time left)."""
        if self._progress is None:
            return
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task("  validation", total=total, rate="", loss="")

    def advance(self, loss: float) -> None:
        if self._progress is None or self._task is None:
            return
        self._progress.advance(self._task)
        speed = self._progress.tasks[-1].speed if self._progress.tasks else None
        rate = f"{speed:.1f} it/s" if speed else ""
        self._progress.update(self._task, rate=rate, loss=f"loss {loss:.4g}")

    def end_epoch(self, summary: str) -> None:
        if self._progress is None:
            return
        self._progress.console.print(summary)
