"""The typed config of ``rnnkit tutorial``: ``[train]`` for rnnkit's version, ``[model]``."""
from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit.training.config import TrainConfig

__all__ = ["TutorialConfig", "TutorialModelConfig"]


def _tutorial_train() -> TrainConfig:
    return TrainConfig(
        epochs=150, batch_size=16, lr=0.01, grad_clip=1.0, patience=30, min_delta=1e-9,
        device="cpu", progress=False, threads=1,
    )


@dataclass
class TutorialModelConfig:
    """The ``[model]`` table: SequenceRNN(1, hidden_size, 1)."""

    hidden_size: int = 10


@dataclass
class TutorialConfig:
    """``rnnkit tutorial``'s config: ``[train]`` for rnnkit's version, ``[model]``."""

    train: TrainConfig = field(default_factory=_tutorial_train)
    model: TutorialModelConfig = field(default_factory=TutorialModelConfig)

    def model_config(self) -> dict:
        return {"input_size": 1, "hidden_size": self.model.hidden_size, "output_size": 1}
