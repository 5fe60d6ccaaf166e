"""The model-agnostic trainer, its typed config, checkpoints and run-folder outputs.

    from rnnkit.training import Trainer, TrainConfig
    trainer = Trainer(model, TrainConfig(epochs=50, lr=1e-3), run_dir="runs/x")
    result = trainer.fit(train_loader, val_loader)
    trainer.load_best()
"""
from __future__ import annotations

from rnnkit.training.callbacks import Callback, TensorBoardLogger
from rnnkit.training.checkpoint import load_model, load_state, save_checkpoint, save_model
from rnnkit.training.config import (
    TrainConfig,
    apply_overrides,
    from_dict,
    load_config,
    parse_override,
    to_dict,
)
from rnnkit.training.device import move_to, resolve_device
from rnnkit.training.seed import seed_everything
from rnnkit.training.split import train_val_split
from rnnkit.training.trainer import FitResult, NonFiniteLossError, Trainer

__all__ = [
    "Trainer",
    "TrainConfig",
    "FitResult",
    "NonFiniteLossError",
    "Callback",
    "TensorBoardLogger",
    "save_model",
    "load_model",
    "save_checkpoint",
    "load_state",
    "load_config",
    "from_dict",
    "to_dict",
    "apply_overrides",
    "parse_override",
    "move_to",
    "resolve_device",
    "seed_everything",
    "train_val_split",
]
