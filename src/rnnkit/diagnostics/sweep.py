"""Train each cell briefly on one long-memory task at several lengths T, and measure.

For every (cell, T) of :class:`DiagnoseConfig`, :func:`train_one` seeds torch, builds a
:class:`~rnnkit.diagnostics.model.TaskModel`, measures the gradient flow on a held-out
batch, trains with Adam (fresh batches each step, gradient norm clipped) and scores the
held-out set every ``eval_every`` steps, stopping as soon as the task counts as solved
(:mod:`rnnkit.diagnostics.problems`), then measures the gradient flow again.
:func:`diagnose` runs them all, writes the table and the plots when given a folder, and
returns the JSON-ready summary::

    {"task": "adding", "results": [{"cell": "rnn", "T": 100, "solved": false,
      "steps": 3000, "effective_span": 9, "span_before": 7, "metric": "relative_mse",
      "score": 0.98}, ...]}

``steps`` is the number of training steps at which the task was first solved, or the
number trained (``max_steps``) when it was not. ``effective_span`` is measured after
training, ``span_before`` at initialisation (layer 0, forward direction, the task loss),
both on a float64 copy of the model so that vanishing gradients do not underflow to 0.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from rnnkit.diagnostics.flow import gradient_flow, in_float64
from rnnkit.diagnostics.model import CELLS, TaskModel, save
from rnnkit.diagnostics.problems import problem
from rnnkit.errors import ConfigError

__all__ = ["DEFAULT_LENGTHS", "DiagnoseConfig", "RunResult", "train_one", "diagnose"]

DEFAULT_LENGTHS = {"adding": (25, 50, 100, 200), "copy": (10, 25, 50, 100), "digits": (64, 128, 256)}
FLOW_BATCH = 64  # held-out sequences the gradient flow is measured on


@dataclass(frozen=True)
class DiagnoseConfig:
    """Everything a ``rnnkit diagnose`` run depends on (closed: unknown keys fail)."""

    task: str = "adding"
    lengths: tuple[int, ...] = ()  # () = the task's DEFAULT_LENGTHS
    cells: tuple[str, ...] = CELLS
    hidden_size: int = 32
    batch_size: int = 32
    max_steps: int = 3000
    lr: float = 1e-2
    clip: float = 1.0
    eval_every: int = 100
    eval_size: int = 500
    fraction: float = 0.01
    seed: int = 0
    threads: int = 1  # torch threads during the sweep; see diagnose()

    def __post_init__(self) -> None:
        spec = problem(self.task)
        object.__setattr__(self, "lengths", tuple(self.lengths) or DEFAULT_LENGTHS[self.task])
        object.__setattr__(self, "cells", tuple(self.cells))
        for name in ("hidden_size", "batch_size", "max_steps", "eval_every", "eval_size", "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}: expected an int >= 1, got {value!r}")
        if not self.lengths:
            raise ConfigError("lengths: expected at least one T")
        for T in self.lengths:
            if not isinstance(T, int) or isinstance(T, bool) or T < 1:
                raise ConfigError(f"lengths: expected ints >= 1, got {T!r}")
            spec.check_T(T)
        if not self.cells:
            raise ConfigError("cells: expected at least one cell")
        for cell in self.cells:
            if cell not in CELLS:
                raise ConfigError(f"cells: expected some of {', '.join(CELLS)}, got {cell!r}")
        if not (isinstance(self.lr, float) and self.lr > 0):
            raise ConfigError(f"lr: expected a float > 0, got {self.lr!r}")
        if not (isinstance(self.clip, float) and self.clip > 0):
            raise ConfigError(f"clip: expected a float > 0, got {self.clip!r}")
        if not (isinstance(self.fraction, float) and 0 < self.fraction < 1):
            raise ConfigError(f"fraction: expected a float in (0, 1), got {self.fraction!r}")

    @classmethod
    def from_dict(cls, values: dict) -> "DiagnoseConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown diagnose setting(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(known))}")
        return cls(**values)


@dataclass
class RunResult:
    """One (cell, T): the table row plus the gradient-flow curves before and after."""

    cell: str
    T: int
    solved: bool
    steps: int
    effective_span: int
    span_before: int
    metric: str
    score: float
    seconds: float  # wall clock
    cpu_seconds: float  # this process's CPU time (all threads)
    norms_before: np.ndarray = field(repr=False)
    norms_after: np.ndarray = field(repr=False)
    history: list[tuple[int, float]] = field(default_factory=list, repr=False)

    def row(self) -> dict:
        keys = ("cell", "T", "solved", "steps", "effective_span", "span_before", "metric", "score")
        return {k: getattr(self, k) for k in keys}


def _score(model: TaskModel, spec, x, y) -> float:
    with torch.no_grad():
        return spec.score(model(x), y)


def train_one(cfg: DiagnoseConfig, cell: str, T: int,
              advance: Optional[Callable[[int], None]] = None,
              save_to: Optional[Path] = None) -> RunResult:
    """Train ``cell`` on ``cfg.task`` at length T; ``advance(n)`` reports n steps done."""
    spec = problem(cfg.task)
    start, cpu_start = time.perf_counter(), time.process_time()
    torch.manual_seed(cfg.seed)
    model = TaskModel(cfg.task, cell, cfg.hidden_size)
    x_eval, y_eval = spec.held_out(cfg.eval_size, T, seed=cfg.seed + 10**6)
    flow_batch = (x_eval[:FLOW_BATCH], y_eval[:FLOW_BATCH])
    before = gradient_flow(*in_float64(model, flow_batch), fraction=cfg.fraction)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step, score, solved, history = 0, _score(model, spec, x_eval, y_eval), False, []
    history.append((0, score))
    while step < cfg.max_steps and not solved:
        x, y = spec.batch(cfg.batch_size, T, seed=cfg.seed * 10**7 + step)
        loss = model.compute_loss((x, y))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        step += 1
        if advance is not None:
            advance(1)
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            score = _score(model, spec, x_eval, y_eval)
            history.append((step, score))
            solved = spec.solved(score)
    if advance is not None and step < cfg.max_steps:
        advance(cfg.max_steps - step)  # the bar counts budgeted steps
    after = gradient_flow(*in_float64(model, flow_batch), fraction=cfg.fraction)
    if save_to is not None:
        save(save_to, model, T)
    return RunResult(
        cell=cell, T=T, solved=bool(solved), steps=step, effective_span=after.span("l0"),
        span_before=before.span("l0"), metric=spec.metric, score=float(score),
        seconds=time.perf_counter() - start, cpu_seconds=time.process_time() - cpu_start,
        norms_before=before.norms["l0"],
        norms_after=after.norms["l0"], history=history,
    )


def diagnose(cfg: DiagnoseConfig, out: Optional[Path] = None, *, progress: bool = False,
             log: Optional[Callable[[str], None]] = None) -> tuple[dict, list[RunResult]]:
    """Run the sweep; with ``out``, write config.json, results.json, table.txt,
    gradient_norms.json (‖∂L/∂h_t‖ before and after, per cell and T), the two plots and
    each trained model (models/<cell>-T<T>/). Returns (summary, results).

    torch runs with ``cfg.threads`` threads meanwhile (restored after): at these sizes
    (B = 32, H = 32) one thread is fastest, and on a busy 2-core machine two threads
    measured 20 times slower per step (2.8 ms against 65 ms of CPU for an LSTM step at T = 50).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        return _diagnose(cfg, out, progress=progress, log=log)
    finally:
        torch.set_num_threads(threads)


def _diagnose(cfg: DiagnoseConfig, out: Optional[Path], *, progress: bool,
              log: Optional[Callable[[str], None]]) -> tuple[dict, list[RunResult]]:
    from rnnkit.diagnostics.plots import plot_accuracy, plot_gradient_flow
    from rnnkit.diagnostics.progress import SweepProgress
    from rnnkit.diagnostics.report import table

    runs = [(cell, T) for T in cfg.lengths for cell in cfg.cells]
    results = []
    with SweepProgress(progress, total=len(runs) * cfg.max_steps) as bar:
        for cell, T in runs:
            bar.describe(f"{cell} T={T}")
            save_to = out / "models" / f"{cell}-T{T}" if out is not None else None
            result = train_one(cfg, cell, T, advance=bar.advance, save_to=save_to)
            results.append(result)
            if log is not None:
                log(f"{cell:>6} T={T:<5} {'solved' if result.solved else 'not solved':<10} "
                    f"after {result.steps} steps, {result.metric} {result.score:.4g}, "
                    f"span {result.span_before} -> {result.effective_span} "
                    f"({result.seconds:.1f} s, {result.cpu_seconds:.1f} s CPU)")
    summary = {"task": cfg.task, "results": [r.row() for r in results]}
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n", encoding="utf-8")
        (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        (out / "table.txt").write_text(table(summary) + "\n", encoding="utf-8")
        flows = [{"cell": r.cell, "T": r.T, "before": r.norms_before.tolist(),
                  "after": r.norms_after.tolist()} for r in results]
        (out / "gradient_norms.json").write_text(json.dumps(flows) + "\n", encoding="utf-8")
        plot_gradient_flow(results, out / "gradient_flow.png", fraction=cfg.fraction)
        plot_accuracy(results, out / "accuracy_vs_T.png", task=cfg.task)
    return summary, results
