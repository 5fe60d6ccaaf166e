"""Training script for the SIGKILL resume test (run as a subprocess, or imported).

Trains a tiny 2-layer LSTM with dropout on shuffled minibatches. With ``--pause-epoch
E --pause-batch K`` it writes ``--marker`` after batch K of epoch E and then sleeps,
so the test can kill it with SIGKILL at a known point in the middle of an epoch.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

from rnnkit.models import RecurrentModel
from rnnkit.training import TrainConfig, Trainer

EPOCHS = 4


def build() -> tuple[RecurrentModel, DataLoader, DataLoader]:
    g = torch.Generator().manual_seed(123)
    x = torch.randn(32, 5, 3, generator=g)  # (N, T, I)
    y = x.sum(dim=(1, 2)).unsqueeze(1)  # (N, 1)
    torch.manual_seed(0)
    model = RecurrentModel(3, 8, 1, cell="lstm", num_layers=2, dropout=0.3)
    train = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    val = DataLoader(TensorDataset(x[:16], y[:16]), batch_size=8)
    return model, train, val


class PauseAt:
    """Writes a marker file and sleeps after batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch: int, batch: int, marker: Path) -> None:
        self.at_epoch, self.at_batch, self.marker = epoch, batch, marker
        self.epoch, self.seen = 0, 0

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self.epoch, self.seen = epoch, 0

    def on_batch_end(self, trainer, step: int, loss: float) -> None:
        self.seen += 1
        if self.epoch == self.at_epoch and self.seen == self.at_batch:
            self.marker.write_text(str(step))
            time.sleep(600)


def main(argv: list[str] | None = None) -> Trainer:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--pause-epoch", type=int, default=0)
    parser.add_argument("--pause-batch", type=int, default=0)
    parser.add_argument("--marker", type=Path)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    model, train, val = build()
    config = TrainConfig(
        epochs=args.epochs, batch_size=8, lr=1e-2, scheduler="cosine", seed=0, device=args.device,
        progress=False,
    )
    callbacks = [PauseAt(args.pause_epoch, args.pause_batch, args.marker)] if args.marker else []
    trainer = Trainer(model, config, run_dir=args.run_dir, callbacks=callbacks)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same in the subprocess and in pytest; quick on busy CPUs
    try:
        trainer.fit(train, val, resume=args.resume)
    finally:
        torch.set_num_threads(threads)
    return trainer


if __name__ == "__main__":
    main()
