"""Training script run under torchrun by the distributed tests (tests/training, tests/faults).

Trains a tiny 2-layer LSTM (no dropout) on 32 fixed sequences, global batch 8, with
shuffling, through the plain Trainer, which goes data-parallel by itself under
torchrun. Every rank writes its final weights to ``OUT/rank<r>.safetensors`` and the
first optimizer step of each torchrun attempt to ``OUT/first-steps-rank<r>.txt``. With
``--run-dir`` the trainer keeps checkpoints there and, after a torchrun restart,
resumes from ``checkpoints/last`` by itself. ``--kill-at-step K`` makes rank ``--kill-rank`` SIGKILL itself after optimizer step K,
once (only in torchrun's first attempt, TORCHELASTIC_RESTART_COUNT=0).
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.utils.data import DataLoader, TensorDataset

from rnnkit.models import RecurrentModel
from rnnkit.training import TrainConfig, Trainer
from rnnkit.training import distributed as D

GLOBAL_BATCH = 8


class KillAt:
    def __init__(self, step: int, rank: int) -> None:
        self.step, self.rank = step, rank

    def on_batch_end(self, trainer, step: int, loss: float) -> None:
        first_attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") == "0"
        if step == self.step and D.rank() == self.rank and first_attempt:
            os.kill(os.getpid(), signal.SIGKILL)


class FirstStep:
    """Appends "<attempt> <first step>" to a file once per torchrun attempt."""

    def __init__(self, out: Path) -> None:
        self.out, self.done = out, False

    def on_batch_end(self, trainer, step: int, loss: float) -> None:
        if not self.done:
            self.done = True
            self.out.mkdir(parents=True, exist_ok=True)
            with (self.out / f"first-steps-rank{D.rank()}.txt").open("a") as fh:
                fh.write(f"{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')} {step}\n")


def build(cell: str):
    g = torch.Generator().manual_seed(123)
    x = torch.randn(32, 5, 3, generator=g)  # (N, T, I)
    y = x.sum(dim=(1, 2)).unsqueeze(1)  # (N, 1)
    torch.manual_seed(0)
    model = RecurrentModel(3, 8, 1, cell=cell, num_layers=2)
    loader = DataLoader(TensorDataset(x, y), batch_size=GLOBAL_BATCH, shuffle=True)
    return model, loader


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("out", type=Path)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--cell", default="lstm")
    p.add_argument("--run-dir", type=Path)
    p.add_argument("--kill-at-step", type=int, default=0)
    p.add_argument("--kill-rank", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    model, loader = build(args.cell)  # the plain loader: the trainer shards it under torchrun
    config = TrainConfig(epochs=args.epochs, batch_size=GLOBAL_BATCH, lr=1e-2, seed=0, device="cpu",
                         progress=False, checkpoint=args.run_dir is not None)
    callbacks = [FirstStep(args.out)]
    if args.kill_at_step:
        callbacks.append(KillAt(args.kill_at_step, args.kill_rank))
    trainer = Trainer(model, config, run_dir=args.run_dir, callbacks=callbacks)
    trainer.fit(loader)  # after a torchrun restart the trainer resumes from checkpoints/last
    assert D.is_active() and D.world_size() == int(os.environ["WORLD_SIZE"])
    args.out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(args.out / f"rank{D.rank()}.safetensors"))
    D.barrier()
    D.cleanup()
    # Leave without the interpreter's teardown. About 1 run in 35-80 of two concurrent torchrun jobs, a
    # rank that had written its weights and destroyed its process group died with SIGABRT ("terminate
    # called without an active exception") during interpreter exit, inside torch's own teardown (also with
    # the default env:// rendezvous): torchrun then reports a failure for a run whose results are complete.
    # What this worker tests is written above; sys.exit after a flush would run that teardown again.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
