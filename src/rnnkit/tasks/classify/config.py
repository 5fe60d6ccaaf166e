"""The typed config of ``rnnkit classify``: ``[train]``, ``[model]``, ``[data]``, ``[audio]``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from rnnkit.data.audio import AudioConfig
from rnnkit.tasks.classify.crops import MIN_LENGTH
from rnnkit.training.config import TrainConfig, to_dict

__all__ = ["ClassifyModelConfig", "ClassifyDataConfig", "ClassifyConfig", "RUN_PATH_KEYS", "default_config"]


@dataclass
class ClassifyModelConfig:
    """The ``[model]`` table: the network and its arguments, as :class:`~rnnkit.tasks.classify.Classifier`
    takes them. The defaults are the estimator's, so ``rnnkit classify train`` with no ``[model]``
    settings builds ``Classifier()``'s network, except where the CLI keeps the settings chosen on
    spoken digits: ``weight_average`` "none" and ``members`` 1 (the estimator's "ema" and "auto"
    were chosen on archive sets), ``filters`` the network's own (the estimator's "auto"
    widens them from 128 series): ``network`` "lstm_fcn" (the recurrent +
    convolutional hybrid, :mod:`rnnkit.models.lstm_fcn`) or "rnn" (recurrent only,
    :class:`rnnkit.models.classifier.SequenceClassifier`); ``filters``/``kernels``/``dilations``
    are the hybrid's convolutions (empty: its own defaults)."""

    network: Literal["lstm_fcn", "rnn"] = "lstm_fcn"
    filters: list[int] = field(default_factory=list)
    kernels: list[int] = field(default_factory=list)
    dilations: list[int] = field(default_factory=lambda: [1, 4, 16])  # Classifier()'s
    cell: Literal["lstm", "gru", "rnn"] = "lstm"
    hidden_size: int = 64
    num_layers: int = 2
    bidirectional: bool = True
    pooling: Literal["last", "mean", "attention"] = "last"
    dropout: float = 0.1
    label_smoothing: float = 0.0
    backend: Literal["auto", "rnnkit", "torch"] = "auto"  # see models.layers.recurrent_layer
    # Weight averaging for the saved model: "ema" (exponential, average_decay per optimizer
    # step) or "swa" (plain mean of the weights after each step) over the epochs after the
    # first average_start of them; the model is then saved with the averaged weights (either
    # network; the hybrid's batch-norm running statistics are averaged alike). "none" here
    # while Classifier() defaults to "ema": the CLI's defaults were chosen on spoken digits.
    weight_average: Literal["none", "ema", "swa"] = "none"
    average_decay: float = 0.99
    average_start: float = 0.75   # fraction of train.epochs before averaging starts
    # Ensemble in one model: members independently initialised encoders + heads, trained
    # together (loss = sum of the members' losses), predicting the mean of their probabilities.
    # 1 here while Classifier() defaults to "auto" (two for a small fit): chosen on archive sets.
    members: int = 1
    # Feed the network [x_t, x_t - x_{t-1}] (standardised inputs and their first differences,
    # 0 at each sequence's first step) instead of x_t: the recurrent layers, and the hybrid's
    # convolutions too.
    deltas: bool = False
    # The hybrid's order-free summary branch: K quantiles of each channel's values and of its
    # first differences (rnnkit.models.summary); 0: none.
    summary: int = 0
    # The hybrid's input normalisation (rnnkit.models.lstm_fcn): "batch" (or true) a batch norm over
    # the input channels before both branches (with data.group_batches, a per-speaker normalisation
    # of the input), "utterance" each sequence over its own steps, or a list, one per member.
    input_norm: bool | Literal["none", "batch", "utterance"] | list[Literal["none", "batch", "utterance"]] = False


@dataclass
class ClassifyDataConfig:
    """The ``[data]`` table: labels, groups, splits, class weights, augmentation."""

    label_pattern: Optional[str] = None
    group_pattern: Optional[str] = None
    test_fraction: float = 0.25   # of groups, when no test set is given
    val_fraction: float = 0.0     # of the remaining groups; 0: none, keep the last epoch
    split_seed: int = 0
    class_weights: Literal["none", "balanced"] = "none"
    augment: bool = False         # audio: the audio.aug_* steps (data.audio_augment); .ts: jitter
    # each training batch holds one group's files (one speaker; --group-pattern), for a model
    # evaluated adapted to each test group and predicted with --adapt (classify.batches)
    group_batches: bool = False
    jitter: float = 0.05          # .ts augmentation: noise std in units of the normalised features
    # Window slicing (Classifier's crop / crop_min_length; rnnkit.tasks.classify.crops): a
    # training draw of a series of >= crop_min_length steps is a random window of crop times its
    # length, and it is predicted as the mean over 5 evenly spaced such windows; 1: off.
    crop: float = 0.9             # Classifier()'s
    crop_min_length: int = MIN_LENGTH
    # auto: per-series z-normalisation for univariate series, per-channel standardisation
    # (training-set statistics) otherwise; see rnnkit.tasks.classify.arrays
    normalize: Literal["auto", "series", "channel", "none"] = "auto"


def _train_defaults() -> TrainConfig:
    # threads=1: these models are small; one thread is as fast as two on an idle CPU and
    # many times faster on a busy one (it also holds for testing after training).
    return TrainConfig(epochs=50, batch_size=32, lr=3e-3, grad_clip=1.0, scheduler="cosine",
                       threads=1)


@dataclass
class ClassifyConfig:
    train: TrainConfig = field(default_factory=_train_defaults)
    model: ClassifyModelConfig = field(default_factory=ClassifyModelConfig)
    data: ClassifyDataConfig = field(default_factory=ClassifyDataConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)


# Keys a run's config.json holds beside the config tables: the data it was trained on.
RUN_PATH_KEYS = ("train_path", "test_path")


def default_config() -> dict:
    """The defaults as a plain dict (the base that TOML files and overrides change)."""
    return to_dict(ClassifyConfig())
