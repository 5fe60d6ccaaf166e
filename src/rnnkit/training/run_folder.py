"""What the trainer keeps on disk and in memory between epochs: the run folder.

:class:`RunFolder` is the bookkeeping half of :class:`rnnkit.training.trainer.Trainer`
(the loop half lives there). It owns::

    run_dir/
      config.json          the resolved run config, written once per fit
      metrics.csv          one row per completed epoch (rewritten after each)
      checkpoints/best/    weights + state of the epoch with the lowest monitored loss
      checkpoints/last/    weights + state of the last completed epoch (for --resume)

Order of writes per epoch: ``best`` (when the monitored loss improved), then ``last``,
then metrics.csv, so a kill between two writes only repeats that epoch on resume. Each
checkpoint folder is written atomically (:mod:`rnnkit.training.atomic`); a fit first
recovers any folder a killed write left half-swapped.

Without a run folder, or with ``config.checkpoint`` off, the best epoch's weights are
kept in memory instead (on every rank), so :meth:`RunFolder.load_best` works either way.

Resume restores, from ``checkpoints/last``: weights, optimizer, scheduler, AMP scaler,
step counters, early-stopping state, history, every RNG and the loaders' shuffling
generators. A state that does not fit the run raises :class:`CheckpointError` (one line).

Only rank 0 writes under torchrun; every rank waits at a barrier after each write.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.training import checkpoint as ckpt
from rnnkit.training import distributed as dist_
from rnnkit.training.atomic import recover_dir, remove_stale_temps
from rnnkit.training.config import save_json, to_dict
from rnnkit.training.history import write_metrics_csv
from rnnkit.training.seed import get_rng_state, set_rng_state

__all__ = ["RunFolder"]


class RunFolder:
    """Run-folder, checkpoint and best-weights bookkeeping mixed into the Trainer.

    Uses the trainer's ``model``, ``config``, ``run_dir``, ``model_config``,
    ``run_config``, ``optimizer``, ``scheduler``, ``scaler`` and its counters
    (``epoch``, ``step``, ``best_val``, ``best_epoch``, ``bad_epochs``,
    ``stop_reason``, ``history``, ``_best_state``).
    """

    @property
    def checkpoint_dir(self) -> Optional[Path]:
        return self.run_dir / "checkpoints" if self.run_dir is not None else None

    # ------------------------------------------------------------ fit start
    def _recover_run_dir(self) -> None:
        """Finish or undo checkpoint swaps a killed run left behind; drop stale temps."""
        if self.checkpoint_dir is None or not dist_.is_main():
            return
        for name in ("last", "best"):
            recover_dir(self.checkpoint_dir / name)
        remove_stale_temps(self.checkpoint_dir)
        remove_stale_temps(self.run_dir)

    def _write_run_config(self) -> None:
        """Create the run folder and write config.json (rank 0; a no-op without a folder)."""
        if self.run_dir is None or not dist_.is_main():
            return
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as err:  # e.g. a file in the way, a read-only disk: one line, exit 2
            raise ConfigError(f"run folder {str(self.run_dir)!r} cannot be created: "
                              f"{err.strerror or err}") from None
        run_config = self.run_config or {"train": to_dict(self.config), "model": self.model_config}
        save_json(self.run_dir / "config.json", run_config)

    # ------------------------------------------------------------ messages
    def _interrupted(self) -> str:
        if self.checkpoint_dir is not None and (self.checkpoint_dir / "last").is_dir():
            return (f"interrupted; the last good checkpoint is kept in {self.checkpoint_dir / 'last'}; "
                    f"run the same command with --resume {self.run_dir} to continue from it")
        return "interrupted before any checkpoint was written; nothing to resume"

    def _kept(self) -> str:
        if self.checkpoint_dir is not None and (self.checkpoint_dir / "last").is_dir():
            return f"training stopped; the last good checkpoint is kept in {self.checkpoint_dir / 'last'}"
        return "training stopped before any checkpoint was written"

    # ------------------------------------------------------------ each epoch
    def _state(self, generators) -> dict:
        return {
            "epoch": self.epoch,
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "rng": get_rng_state(),
            "loader_rng": [g.get_state() for g in generators],
            "best_val": self.best_val,
            "best_epoch": self.best_epoch,
            "bad_epochs": self.bad_epochs,
            "stop_reason": self.stop_reason,
            "history": json.dumps(self.history),
        }

    def _save(self, improved: bool, generators) -> None:
        if improved and (self.checkpoint_dir is None or not self.config.checkpoint):
            # in memory on every rank, so that load_best restores the same weights on all of them
            self._best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        if dist_.is_main():
            try:
                self._write(improved, generators)
            except OSError as err:  # disk full, folder removed, ...: the last good one is kept
                raise CheckpointError(f"cannot write to run folder {str(self.run_dir)!r}: "
                                      f"{err.strerror or err}; " + self._kept()) from None
        dist_.barrier()  # no rank reads a checkpoint that is still being written

    def _write(self, improved: bool, generators) -> None:
        if self.checkpoint_dir is None or not self.config.checkpoint:
            if self.run_dir is not None:
                write_metrics_csv(self.run_dir / "metrics.csv", self.history)
            return
        state = self._state(generators)
        if improved:  # best first: a kill before `last` is written just repeats this epoch
            ckpt.save_checkpoint(self.checkpoint_dir / "best", self.model, self.model_config, state)
        ckpt.save_checkpoint(self.checkpoint_dir / "last", self.model, self.model_config, state)
        write_metrics_csv(self.run_dir / "metrics.csv", self.history)

    # ------------------------------------------------------------ read back
    def _restore(self, generators) -> None:
        if self.checkpoint_dir is None:
            raise CheckpointError("resume needs a run folder, got none")
        last = self.checkpoint_dir / "last"
        if not last.is_dir():
            raise CheckpointError(f"cannot resume: {str(last)!r} does not exist")
        ckpt.check_model_config(last, self.model_config, f"cannot resume from {self.run_dir}")
        tensors = ckpt.read_safetensors(last / ckpt.WEIGHTS)
        state = ckpt.load_state(last)
        ckpt.load_weights_into(self.model, tensors, str(last))
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None and state.get("scheduler") is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            if state.get("scaler") is not None and self.scaler.is_enabled():
                self.scaler.load_state_dict(state["scaler"])
            self.epoch, self.step = int(state["epoch"]), int(state["step"])
            self.best_val, self.best_epoch = float(state["best_val"]), int(state["best_epoch"])
            self.bad_epochs = int(state["bad_epochs"])
            self.stop_reason = None
            self.history = json.loads(state["history"])
            set_rng_state(state["rng"])
            for g, s in zip(generators, state.get("loader_rng", [])):
                g.set_state(s)
        except (KeyError, ValueError, TypeError, RuntimeError) as err:
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise CheckpointError(f"{str(last / ckpt.STATE)!r} does not fit this run: {first}") from None

    def load_best(self):
        """Put the best epoch's weights back into ``model`` (from disk or memory)."""
        if self.checkpoint_dir is not None and self.config.checkpoint:
            best = self.checkpoint_dir / "best"
            ckpt.load_weights_into(self.model, ckpt.read_safetensors(best / ckpt.WEIGHTS), str(best))
        elif self._best_state is not None:
            self.model.load_state_dict(self._best_state)
        return self.model
