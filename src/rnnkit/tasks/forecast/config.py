"""The typed config of ``rnnkit forecast``: ``[data]``, ``[model]``, ``[train]``, ``baselines``.

Defaults are the benchmarked ones (benchmarks/RESULTS_forecast.md): a 32-unit GRU,
direct multi-output with a seasonal-naive residual, an ensemble of 3 members, Adam at
3e-3 with a cosine schedule, at most 150 epochs and at most ``train.max_steps`` (800)
optimizer steps (so a 10k-point series stays well under a minute on 2 CPU cores). Training runs
on the CPU by default (``train.device="cpu"``): these models are too small for a GPU to help.
``baselines`` lists the baselines to compute (``ets`` is skipped without statsmodels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rnnkit.errors import ConfigError
from rnnkit.training.config import TrainConfig, load_config

__all__ = ["ForecastConfig", "ForecastDataConfig", "ForecastModelConfig", "load_forecast_config"]


@dataclass
class ForecastDataConfig:
    """What to read and how to split it (see rnnkit.data.timeseries)."""

    data: str | None = None  # a CSV path or a bundled series name; None: airline
    target: list[str] = field(default_factory=list)  # empty: every non-time column
    time_col: str | None = None
    group_col: str | None = None
    past_covariates: list[str] = field(default_factory=list)
    future_covariates: list[str] = field(default_factory=list)  # known for future steps too
    freq: str | None = None
    # auto: "error" for a file; a bundled series brings its own policy (co2: interpolate).
    missing: Literal["auto", "error", "interpolate", "ffill"] = "auto"
    horizon: int | None = None  # None: the bundled series' horizon
    season: int | None = None  # None: from the frequency (12 monthly, 52 weekly, ...)
    test_size: int | None = None  # None: horizon
    window: int | None = None  # RNN input length; None: max(2 * horizon, season, 8)
    log: Literal["auto", "on", "off"] = "auto"
    diff: int = 0
    calendar: bool = True
    interval: float | None = 0.8  # central interval probability; None: no bands

    def __post_init__(self) -> None:
        for name in ("horizon", "season", "test_size", "window"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(
                    f"data.{name} (--{name.replace('_', '-')}) must be >= 1, got {value}"
                )
        if self.interval is not None and not 0 < self.interval < 1:
            raise ConfigError(f"data.interval (--interval) must be in (0, 1), got {self.interval}")


@dataclass
class ForecastModelConfig:
    """Constructor arguments of rnnkit.models.forecaster.RNNForecaster that users choose."""

    cell: Literal["rnn", "lstm", "gru"] = "gru"
    hidden_size: int = 32
    num_layers: int = 1
    strategy: Literal["direct", "recursive", "seq2seq"] = "direct"
    residual: Literal["seasonal", "last", "none"] = "seasonal"
    dropout: float = 0.0
    members: int = 3


def _default_train() -> TrainConfig:
    return TrainConfig(
        epochs=150,
        batch_size=32,
        lr=3e-3,
        scheduler="cosine",
        grad_clip=1.0,
        progress=False,
        checkpoint=False,
        device="cpu",
        max_steps=800,  # epochs = min(train.epochs, max_steps // batches); the trainer stops there
        threads=1,  # also while forecasting; 1 is fastest for small models
    )


@dataclass
class ForecastConfig:
    data: ForecastDataConfig = field(default_factory=ForecastDataConfig)
    model: ForecastModelConfig = field(default_factory=ForecastModelConfig)
    train: TrainConfig = field(default_factory=_default_train)
    baselines: list[str] = field(
        default_factory=lambda: ["naive", "seasonal_naive", "drift", "ets"]
    )

    def __post_init__(self) -> None:
        from rnnkit.tasks.forecast.baselines import BASELINES

        for name in self.baselines:
            if name not in BASELINES:
                raise ConfigError(
                    f"baselines: unknown baseline {name!r} (known: {', '.join(BASELINES)})"
                )


def load_forecast_config(path: Path | None = None, overrides=(), base: dict | None = None,
                         named: dict | None = None) -> ForecastConfig:
    """Defaults above (or ``base``, e.g. a resumed run's config), then a TOML file, then
    ``key=value`` overrides, then ``named`` typed values (unknown keys fail)."""
    return load_config(ForecastConfig, path=path, overrides=list(overrides), base=base, named=named)
