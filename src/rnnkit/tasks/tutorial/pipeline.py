"""The tutorial's next-number exercise, as written and done right (``rnnkit tutorial``).

The exercise: from the window (j, j+1, ..., j+4) predict j+5, for j = 0 ... 99, then
predict the numbers after the windows ending at 99, 54 and 204.

*As written* (:func:`run_as_written`): the tutorial's own setup in our code: seed,
``SequenceRNN(1, 10, 1)``, MSE, Adam(lr=0.01), 200 full-batch epochs on the raw
numbers. Inputs up to 104 push W_ih x far into tanh's flat tails, so every window
gives (nearly) the same hidden state, the recurrent weights get no gradient
(tanh' = 1 - tanh^2 ~ 0) and only the read-out learns: one constant prediction.

*rnnkit* (:func:`run_rnnkit`): the same model class, but

1. window-relative input: each window is expressed relative to its last value,
   x'_t = (x_t - x_T) / s, and the target as y' = (y - x_T) / s, so a window
   ending at 204 looks like one ending at 99 and the model extrapolates;
2. the scale s is fitted on the training windows only (their standard deviation);
3. trained by :class:`~rnnkit.training.Trainer`: minibatches, a chronological
   validation split, early stopping, gradient clipping.

Prediction: y = x_T + s * model(x').
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Optional

import torch
from torch.utils.data import DataLoader, TensorDataset

from rnnkit.models.tutorial import SequenceRNN
from rnnkit.tasks.tutorial.config import TutorialConfig, TutorialModelConfig
from rnnkit.training.config import to_dict
from rnnkit.training.device import torch_threads
from rnnkit.training.trainer import Trainer

__all__ = [
    "TARGETS",
    "TutorialConfig",
    "TutorialModelConfig",
    "exercise_data",
    "run_as_written",
    "run_rnnkit",
    "run_tutorial",
]

WINDOW = 5
#: window end -> the true next number
TARGETS = {99: 100, 54: 55, 204: 205}


def exercise_data() -> tuple[torch.Tensor, torch.Tensor]:
    """x (100, 5, 1): windows j..j+4; y (100, 1): j+5, as in the tutorial."""
    starts = torch.arange(100, dtype=torch.float32)  # (N,)
    x = starts[:, None] + torch.arange(WINDOW, dtype=torch.float32)[None, :]  # (N, T)
    y = starts[:, None] + WINDOW  # (N, 1)
    return x.unsqueeze(-1), y  # (N, T, 1), (N, 1)


def _window(end: int) -> torch.Tensor:
    return torch.arange(end - WINDOW + 1, end + 1, dtype=torch.float32).reshape(1, WINDOW, 1)


def run_as_written(seed: int = 0) -> tuple[dict[int, float], float]:
    """The tutorial's exercise, same order of RNG use; returns ({target: prediction}, seconds)."""
    torch.manual_seed(seed)
    start = time.perf_counter()
    model = SequenceRNN(1, 10, 1)
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    x_train, y_train = exercise_data()
    for _ in range(200):  # full batch, no validation, no clipping: as printed
        model.train()
        loss = criterion(model(x_train), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        preds = {target: float(model(_window(end))) for end, target in TARGETS.items()}
    return preds, seconds


def run_rnnkit(
    config: Optional[TutorialConfig] = None, run_dir: Optional[Path] = None, resume: bool = False
) -> tuple[dict[int, float], float]:
    """Scaled, window-relative inputs and the rnnkit trainer; returns ({target: prediction}, seconds)."""
    config = config or TutorialConfig()
    train_cfg = config.train
    start = time.perf_counter()
    x, y = exercise_data()  # (N, T, 1), (N, 1)
    n_train = len(x) - len(x) // 5  # chronological split: the last 20 windows validate
    scale = float(x[:n_train].std())  # fitted on training data only
    last = x[:, -1:, :]  # (N, 1, 1)
    x_rel = (x - last) / scale  # (N, T, 1)
    y_rel = (y - last[:, :, 0]) / scale  # (N, 1)
    train = TensorDataset(x_rel[:n_train], y_rel[:n_train])
    val = TensorDataset(x_rel[n_train:], y_rel[n_train:])
    torch.manual_seed(train_cfg.seed)
    model = SequenceRNN(**config.model_config())
    if run_dir is None and train_cfg.checkpoint:
        train_cfg = replace(train_cfg, checkpoint=False)
    run_config = {"train": to_dict(train_cfg), "model": to_dict(config.model)}
    trainer = Trainer(model, train_cfg, run_dir=run_dir, run_config=run_config)
    trainer.fit(
        DataLoader(train, batch_size=train_cfg.batch_size, shuffle=True),
        DataLoader(val, batch_size=64),
        resume=resume,
    )
    trainer.load_best()
    seconds = time.perf_counter() - start
    model = model.to("cpu").eval()
    preds = {}
    with torch.no_grad():
        for end, target in TARGETS.items():
            window = _window(end)  # (1, T, 1)
            rel = (window - window[:, -1:, :]) / scale
            preds[target] = end + scale * float(model(rel))
    return preds, seconds


def run_tutorial(
    config: Optional[TutorialConfig] = None, run_dir: Optional[Path] = None, resume: bool = False
) -> dict:
    """Both versions; the dict that ``rnnkit tutorial --json`` prints.

    ``{"as_written": {"100": p, "55": p, "205": p}, "rnnkit": {...},
    "seconds": {"as_written": s, "rnnkit": s}}``. The as-written part uses
    ``config.train.seed`` and always runs on the CPU, as printed in the tutorial.
    """
    config = config or TutorialConfig()
    with torch_threads(1):  # a 10-unit RNN: thread hand-offs cost more than they save
        as_written, t_written = run_as_written(config.train.seed)
    ours, t_ours = run_rnnkit(config, run_dir=run_dir, resume=resume)
    return {
        "as_written": {str(k): v for k, v in as_written.items()},
        "rnnkit": {str(k): v for k, v in ours.items()},
        "seconds": {"as_written": t_written, "rnnkit": t_ours},
    }
