"""The typed config of ``rnnkit text``: ``[train]`` (the text defaults), ``[model]``, ``[data]``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from rnnkit.errors import ConfigError
from rnnkit.training.config import TrainConfig, load_config

__all__ = ["TextConfig", "TextModelConfig", "TextDataConfig", "load_text_config"]


@dataclass
class TextModelConfig:
    """The ``[model]`` table: see :class:`rnnkit.models.charlm.CharLM`."""

    cell: Literal["lstm", "gru", "rnn"] = "lstm"
    embed_dim: int = 64
    hidden_size: int = 512
    num_layers: int = 1
    dropout: float = 0.0
    backend: Literal["auto", "rnnkit", "torch"] = "auto"


@dataclass
class TextDataConfig:
    """The ``[data]`` table. ``seq_len`` is T, the BPTT chunk length (the batch size B,
    the number of parallel streams, is ``train.batch_size``). ``chunks_per_epoch``
    makes an "epoch" that many chunks (the next epoch continues where it stopped), for
    more frequent validation on long texts; None walks the whole text."""

    seq_len: int = 64
    val_fraction: float = 0.05
    chunks_per_epoch: Optional[int] = None

    def __post_init__(self) -> None:
        if self.seq_len < 1:
            raise ConfigError(f"data.seq_len must be >= 1, got {self.seq_len!r}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction must be in (0, 1), got {self.val_fraction!r}")
        if self.chunks_per_epoch is not None and self.chunks_per_epoch < 1:  # 0 chunks: epochs that train nothing
            raise ConfigError(f"data.chunks_per_epoch must be >= 1 or None, got {self.chunks_per_epoch!r}")


def text_train_defaults() -> TrainConfig:
    return TrainConfig(epochs=10, batch_size=32, lr=4e-3, grad_clip=1.0,
                       scheduler="cosine", min_lr_ratio=0.1)


@dataclass
class TextConfig:
    train: TrainConfig = field(default_factory=text_train_defaults)
    model: TextModelConfig = field(default_factory=TextModelConfig)
    data: TextDataConfig = field(default_factory=TextDataConfig)


def load_text_config(path: Optional[Path] = None, overrides: list[str] = ()) -> TextConfig:
    return load_config(TextConfig, path=path, overrides=list(overrides))
