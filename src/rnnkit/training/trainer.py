"""The one model-agnostic trainer shared by every task.

The model owns its forward pass and its loss (``model.compute_loss(batch)``, a
scalar mean over the batch); the trainer owns everything else: the minibatch loop,
validation, early stopping, the LR schedule, gradient clipping, mixed precision,
checkpoints, metrics and the progress bar. It never looks inside a batch.

Per optimizer step::

    loss = model.compute_loss(move_to(batch, device))     # non-finite -> NonFiniteLossError
    loss.backward()
    norm = ||grad||_2 over all parameters                 # logged; non-finite -> error
    grad <- grad * min(1, grad_clip / norm)               # when grad_clip > 0
    optimizer.step()
    schedule step                                         # a per-step schedule (onecycle) only

Per epoch: validation loss (mean of batch losses, ``model.eval()``, no grad, with its
own progress bar), LR schedule step, a metrics row, ``checkpoints/best`` when the monitored loss improved
(validation loss, or training loss without a validation loader), then
``checkpoints/last``; early stopping after ``patience`` epochs without improvement.
What is written, when, and how it is read back (resume, ``load_best``) lives in
:mod:`rnnkit.training.run_folder`; this module is the loop.

``time_budget`` covers training and validation (:mod:`rnnkit.training.budget`): training
stops early enough to leave time for the epoch's validation pass (and for the
``extra_val_passes`` the caller announces, such as a final scoring after ``fit``).

Seeding: ``fit`` seeds Python/NumPy/torch with ``config.seed`` before the first
epoch (shuffling and dropout). Seeding the model's initialisation is the caller's
job (do it before building the model). ``fit(resume=True)`` instead restores the
weights, optimizer, scheduler, step counters, early-stopping state and every RNG
from ``checkpoints/last``, so an interrupted CPU run finishes bit-identical to an
uninterrupted one. A DataLoader that shuffles with its own ``generator`` is
restored too.

Under torchrun (``RANK``/``WORLD_SIZE`` set) ``fit`` joins the process group and
trains data-parallel (:mod:`rnnkit.training.distributed`): the train loader is
sharded (``batch_size`` is the global batch), the loss runs through DDP, stop
decisions are shared by all ranks, and only rank 0 writes the run folder, followed
by a barrier. Without torchrun nothing changes.

Errors: a non-finite loss or gradient norm raises :class:`NonFiniteLossError` (an
``RnnkitError``, so the CLI prints one line and exits with code 2) naming the epoch
and step; the checkpoints from the last complete epoch are left untouched.
"""
from __future__ import annotations

import json
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import torch

from rnnkit.errors import Interrupted, RnnkitError
from rnnkit.training import distributed as dist_
from rnnkit.training.budget import TimeBudget
from rnnkit.training.callbacks import TensorBoardLogger, dispatch
from rnnkit.training.config import TrainConfig
from rnnkit.training.device import move_to, resolve_device, torch_threads
from rnnkit.training.loaders import loader_generators as _loader_generators
from rnnkit.training.loaders import loader_length as _length
from rnnkit.training.optim import PER_STEP, build_optimizer, build_scheduler, step_scheduler
from rnnkit.training.plots import plot_loss
from rnnkit.training.progress import EpochProgress, progress_enabled
from rnnkit.training.run_folder import RunFolder
from rnnkit.training.seed import seed_everything

__all__ = ["Trainer", "FitResult", "NonFiniteLossError"]


class NonFiniteLossError(RnnkitError):
    """The loss or gradient norm became NaN/Inf; training stopped (CLI exit code 2)."""


@dataclass
class FitResult:
    best_val_loss: float
    best_epoch: int
    epochs_run: int
    history: list = field(default_factory=list)
    stopped_reason: str = "completed"  # completed | early_stopping | time_budget | max_steps | <callback>
    seconds: float = 0.0
    run_dir: Optional[Path] = None


class Trainer(RunFolder):
    """Trains ``model`` with ``config``; writes the run folder ``run_dir`` (None: no files).

    The loop lives here; what it keeps on disk (config.json, metrics.csv, checkpoints,
    resume, best weights) comes from :class:`rnnkit.training.run_folder.RunFolder`.

    ``model_config`` (the model's constructor arguments, saved as model.json) defaults
    to ``model.model_config`` when the model has it. ``run_config`` is the full
    resolved config saved as config.json (default: ``{"train": ..., "model": ...}``).
    ``extra_val_passes``: validation passes the caller runs after ``fit`` that the time
    budget must leave room for (see :mod:`rnnkit.training.budget`). ``label``: what the
    progress bar and its epoch lines name the run (e.g. ``member 2/4``, when a caller
    trains several models in turn).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        config: TrainConfig,
        run_dir: str | Path | None = None,
        callbacks: Iterable[Any] = (),
        model_config: Optional[dict] = None,
        run_config: Optional[dict] = None,
        extra_val_passes: int = 0,
        label: Optional[str] = None,
    ) -> None:
        self.model = model
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.callbacks = list(callbacks)
        raw = model_config if model_config is not None else getattr(model, "model_config", None)
        self.model_config = json.loads(json.dumps(dict(raw or {})))  # as model.json reads back
        self.run_config = run_config
        self.extra_val_passes = extra_val_passes
        self.label = label
        self.budget = TimeBudget(None)
        self.device = resolve_device(config.device)
        self.optimizer: Optional[torch.optim.Optimizer] = None
        self.scheduler = None
        self.epoch = 0  # last completed epoch
        self.step = 0  # optimizer steps so far
        self.history: list[dict] = []
        self.best_val = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.stop_reason: Optional[str] = None
        self._best_state: Optional[dict] = None
        self._autocast = nullcontext
        self._callbacks: list = []

    def request_stop(self, reason: str = "callback") -> None:
        """Stop after the current epoch (callbacks use this)."""
        self.stop_reason = reason

    # -------------------------------------------------------------------- fit
    def fit(self, train_loader, val_loader=None, *, resume: bool = False) -> FitResult:
        """Train for ``config.epochs`` (from the last checkpoint when ``resume``)."""
        try:
            with torch_threads(self.config.threads):
                return self._fit(train_loader, val_loader, resume)
        except KeyboardInterrupt as err:  # Ctrl-C: say what was kept and how to go on
            if isinstance(err, Interrupted):
                raise
            raise Interrupted(self._interrupted()) from None

    def _fit(self, train_loader, val_loader, resume: bool) -> FitResult:
        cfg = self.config
        dist_.init_distributed(self.device)  # a no-op unless launched by torchrun
        self.device = dist_.device_for_rank(self.device)
        main = dist_.is_main()
        if dist_.is_active():
            train_loader = dist_.distributed_loader(train_loader, seed=cfg.seed)
        self.model.to(self.device)
        self.optimizer = build_optimizer(self.model.parameters(), cfg)
        self.scheduler = build_scheduler(self.optimizer, cfg, _total_steps(cfg, train_loader))
        use_amp = cfg.amp and self.device.type == "cuda"
        amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)
        self._autocast = (
            (lambda: torch.autocast("cuda", dtype=amp_dtype)) if use_amp else nullcontext
        )
        generators = _loader_generators(train_loader)
        self._recover_run_dir()
        dist_.barrier()
        if not resume and dist_.restart_attempt() > 0 and self.checkpoint_dir is not None:
            resume = (self.checkpoint_dir / "last").is_dir()  # torchrun restarted this job
        if resume:
            self._restore(generators)
        else:
            seed_everything(cfg.seed, cfg.deterministic)
        self._loss_fn = self.model.compute_loss
        if dist_.is_active():  # after the restore: DDP starts from the resumed weights
            sample = move_to(dist_.first_batch(train_loader), self.device)
            self._loss_fn = dist_.ddp_loss(self.model, self.device, sample)
        self._write_run_config()
        callbacks = [dist_.SetEpoch(train_loader)] + list(self.callbacks)
        if cfg.tensorboard and self.run_dir is not None and main:
            callbacks.append(TensorBoardLogger(self.run_dir / "tensorboard"))
        self._callbacks = callbacks
        dispatch(callbacks, "on_fit_start", self)
        start = time.perf_counter()
        self.budget = TimeBudget(cfg.time_budget, self.extra_val_passes)
        with EpochProgress(progress_enabled(cfg.progress) and main) as bar:
            for epoch in range(self.epoch + 1, cfg.epochs + 1):
                if cfg.max_steps is not None and self.step >= cfg.max_steps:
                    self.stop_reason = "max_steps"  # e.g. resumed after the last step
                    break
                row = self._run_epoch(epoch, train_loader, val_loader, bar, generators)
                bar.end_epoch((f"{self.label}: " if self.label else "") + _summary(row))
                if self.stop_reason is not None:
                    break
        seconds = time.perf_counter() - start
        if self.run_dir is not None and self.history and main:
            plot_loss(self.history, self.run_dir / "loss.png")
        dispatch(callbacks, "on_fit_end", self)
        return FitResult(
            best_val_loss=self.best_val,
            best_epoch=self.best_epoch,
            epochs_run=self.epoch,
            history=list(self.history),
            stopped_reason=self.stop_reason or "completed",
            seconds=seconds,
            run_dir=self.run_dir,
        )

    def _run_epoch(self, epoch, train_loader, val_loader, bar, generators) -> dict:
        cfg, model = self.config, self.model
        model.train()
        if hasattr(model, "on_epoch_start"):
            model.on_epoch_start()
        dispatch(self._callbacks, "on_epoch_start", self, epoch)
        total = _length(train_loader)
        bar.start_epoch(epoch, cfg.epochs, total, self.label)
        t_epoch = time.perf_counter()
        loss_sum, norm_sum, norm_max, batches = 0.0, 0.0, 0.0, 0
        params = [p for p in model.parameters() if p.requires_grad]
        val_batches = _length(val_loader)
        for batch in train_loader:
            t_step = self.budget.elapsed()
            batch = move_to(batch, self.device, non_blocking=True)
            with self._autocast():
                loss = self._loss_fn(batch)
            loss_value = float(loss.detach())
            where = f"epoch {epoch}, step {self.step + 1} (batch {batches + 1} of the epoch)"
            if dist_.any_rank(not math.isfinite(loss_value)):  # every rank stops together
                raise NonFiniteLossError(f"non-finite loss ({loss_value}) at {where}; " + self._kept())
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.unscale_(self.optimizer)
            max_norm = cfg.grad_clip if cfg.grad_clip else math.inf
            norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm))
            if not math.isfinite(norm) and not self.scaler.is_enabled():
                raise NonFiniteLossError(f"non-finite gradient norm ({norm}) at {where}; " + self._kept())
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if cfg.scheduler in PER_STEP:
                self.scheduler.step()
            self.step += 1
            batches += 1
            loss_sum += loss_value
            if math.isfinite(norm):
                norm_sum += norm
                norm_max = max(norm_max, norm)
            dispatch(self._callbacks, "on_batch_end", self, self.step, loss_value)
            bar.advance(loss_value)
            self.budget.note_step(self.budget.elapsed() - t_step)
            if cfg.time_budget is not None and dist_.any_rank(
                    self.budget.stop_training(val_loader is not None, val_batches)):
                self.stop_reason = "time_budget"
                break
            if cfg.max_steps is not None and self.step >= cfg.max_steps:
                self.stop_reason = "max_steps"
                break
        train_loss = dist_.all_reduce_mean(loss_sum / max(batches, 1))  # over all ranks
        val_loss = self._validate(val_loader, bar) if val_loader is not None else None
        monitored = val_loss if val_loss is not None else train_loss
        if cfg.scheduler not in PER_STEP:
            step_scheduler(self.scheduler, monitored)
        row = {
            "epoch": epoch,
            "step": self.step,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "lr": self.optimizer.param_groups[0]["lr"],
            "grad_norm": norm_sum / max(batches, 1),
            "grad_norm_max": norm_max,
            "seconds": time.perf_counter() - t_epoch,
        }
        improved = monitored < self.best_val - cfg.min_delta
        if improved:
            self.best_val, self.best_epoch, self.bad_epochs = monitored, epoch, 0
        else:
            self.bad_epochs += 1
        self.epoch = epoch
        self.history.append(row)
        if cfg.patience is not None and self.bad_epochs >= cfg.patience and self.stop_reason is None:
            self.stop_reason = "early_stopping"
        self._save(improved, generators)
        dispatch(self._callbacks, "on_epoch_end", self, epoch, row)
        return row

    def evaluate(self, loader) -> float:
        """Mean of ``compute_loss`` over the loader's batches, in eval mode."""
        return self._validate(loader, None, budget=False)

    @torch.no_grad()
    def _validate(self, loader, bar: Optional[EpochProgress], budget: bool = True) -> float:
        """:meth:`evaluate` with a progress bar; within the time budget it stops after
        the batch that spends it (the mean is then over the batches it reached)."""
        model = self.model
        was_training = model.training
        model.eval()
        if hasattr(model, "on_eval_start"):
            model.on_eval_start()
        if bar is not None:
            bar.start_validation(_length(loader))
        t0 = self.budget.elapsed()
        total, n, complete = 0.0, 0, True
        for batch in loader:
            batch = move_to(batch, self.device, non_blocking=True)
            with self._autocast():
                loss = float(model.compute_loss(batch))
            total += loss
            n += 1
            if bar is not None:
                bar.advance(loss)
            if budget and self.config.time_budget is not None and dist_.any_rank(self.budget.over()):
                complete = False
                self.stop_reason = "time_budget"
                break
        self.budget.note_validation(self.budget.elapsed() - t0, complete)
        model.train(was_training)
        return total / max(n, 1)


def _total_steps(cfg: TrainConfig, loader) -> Optional[int]:
    """Optimizer steps the run takes at most: ``max_steps``, or epochs x batches per epoch when fewer
    (None when neither is known: a loader without a length and no max_steps)."""
    n = _length(loader)
    counts = [c for c in (cfg.max_steps, cfg.epochs * n if n is not None else None) if c is not None]
    return min(counts) if counts else None


def _summary(row: dict) -> str:
    val = f", val {row['val_loss']:.4g}" if row.get("val_loss") is not None else ""
    return f"epoch {row['epoch']}: train {row['train_loss']:.4g}{val}, grad norm {row['grad_norm']:.3g}"

