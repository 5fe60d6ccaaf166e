"""Optimizer and learning-rate schedule from a :class:`TrainConfig`."""
from __future__ import annotations

import math
from typing import Optional

import torch

from rnnkit.errors import ConfigError
from rnnkit.training.config import TrainConfig

__all__ = ["PER_STEP", "build_optimizer", "build_scheduler", "step_scheduler"]

PER_STEP = ("onecycle",)  # schedules stepped after every optimizer step, not once per epoch


def build_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def build_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig,
                    total_steps: Optional[int] = None) -> Optional[object]:
    """Schedules are stepped once per epoch (see :func:`step_scheduler`), except ``PER_STEP`` ones.

    cosine: lr_e = lr_min + (lr - lr_min) (1 + cos(pi e / epochs)) / 2, lr_min = lr * min_lr_ratio
    step:   lr_e = lr * gamma ** floor(e / step_size)
    plateau: lr <- lr * gamma after ``scheduler_patience`` epochs without improvement
    onecycle: torch's OneCycleLR over ``total_steps`` optimizer steps (the caller counts them),
              warm-up share ``warmup``, never under 1.5 steps (OneCycleLR divides by zero on
              a warm-up of exactly one step) nor over 0.75 of them
    """
    if cfg.scheduler == "onecycle":
        if not total_steps or total_steps < 1:
            raise ConfigError("train.scheduler = onecycle needs train.max_steps or a train loader with a length")
        warm = min(0.75, max(cfg.warmup, 1.5 / total_steps))
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps, pct_start=warm)
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=max(cfg.epochs, 1), eta_min=cfg.lr * cfg.min_lr_ratio
        )
    if cfg.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    if cfg.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=cfg.gamma, patience=cfg.scheduler_patience
        )
    return None


def step_scheduler(sched, monitored: float) -> None:
    if sched is None:
        return
    if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
        sched.step(monitored if math.isfinite(monitored) else float("inf"))
    else:
        sched.step()
