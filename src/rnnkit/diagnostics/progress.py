"""One progress bar over the whole sweep: ``lstm T=100 ━━━━ 5200/48000 · 0:01:10``.

Drawn on stderr only when asked for and stderr is a terminal (not under ``CI=true``),
by :func:`rnnkit.training.progress.progress_enabled`; otherwise every call is a no-op.
"""
from __future__ import annotations

__all__ = ["SweepProgress"]


class SweepProgress:
    """``with SweepProgress(wanted, total) as bar: bar.describe("gru T=50"); bar.advance(1)``."""

    def __init__(self, wanted: bool, total: int) -> None:
        from rnnkit.training.progress import progress_enabled

        self.enabled = progress_enabled(wanted)
        self.total = total
        self._progress = None
        self._task = None

    def __enter__(self) -> "SweepProgress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(
                TextColumn("[bold]{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("diagnose", total=self.total)
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
            self._progress = None

    def describe(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=text)

    def advance(self, steps: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, steps)
