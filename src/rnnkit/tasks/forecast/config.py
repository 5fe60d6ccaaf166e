"""The typed config of ``rnnkit forecast``: ``[data]``, ``[model]``, ``[train]``, ``baselines``.

The CLI is a thin layer over :class:`rnnkit.tasks.forecast.estimator.Forecaster`:
``[model]`` and ``[train]`` hold the Forecaster options a user may set from the command
line, and ``None`` (the default of each) means "the Forecaster's own default"
(``ForecasterOptions``), so the CLI never carries a second copy of those defaults.
``[data]`` says what to read and how to split it; ``baselines`` names the baselines
to compare with (``ets``, ``theta`` and ``arima`` need statsforecast: ``rnnkit[stats]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.options import ForecasterOptions
from rnnkit.training.config import MAX_LR, load_config

__all__ = [
    "ForecastConfig", "ForecastDataConfig", "ForecastModelConfig", "ForecastTrainConfig",
    "load_forecast_config",
]


@dataclass
class ForecastDataConfig:
    """What to read and how to split it (see rnnkit.data.timeseries)."""

    data: str | None = None  # a CSV path or a bundled series name; None: airline
    target: list[str] = field(default_factory=list)  # empty: every non-time column
    time_col: str | None = None
    group_col: str | None = None
    static_covariates: list[str] = field(default_factory=list)  # constant within a series
    past_covariates: list[str] = field(default_factory=list)  # observed up to the origin only
    future_covariates: list[str] = field(default_factory=list)  # known for future steps too
    freq: str | None = None
    # auto: "error" for a file; a bundled series brings its own policy (co2: interpolate).
    missing: Literal["auto", "error", "interpolate", "ffill"] = "auto"
    horizon: int | None = None  # None: the bundled series' horizon
    season: int | None = None  # None: from the frequency (12 monthly, 52 weekly, ...)
    test_size: int | None = None  # None: horizon
    interval: float | None = 0.8  # central interval probability; None: no bands

    def __post_init__(self) -> None:
        for name in ("horizon", "season", "test_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(
                    f"data.{name} (--{name.replace('_', '-')}) must be >= 1, got {value}"
                )
        if self.interval is not None and not 0 < self.interval < 1:
            raise ConfigError(f"data.interval (--interval) must be in (0, 1), got {self.interval}")


@dataclass
class ForecastModelConfig:
    """Forecaster model options (None: the Forecaster's default; see docs/forecaster.md)."""

    hidden_size: int | None = None  # Forecaster(hidden=...)
    num_layers: int | None = None  # Forecaster(layers=...)
    members: int | None = None  # seeds per lookback
    lookbacks: list[float] | None = None  # input windows, in horizons
    transform: Literal["auto", "log", "linear"] | None = None
    cell: Literal["gru", "lstm"] | None = None  # Forecaster(cell=...): each member's recurrent cell
    seasonal_ets: bool | None = None  # Forecaster(seasonal_ets=...): ETS(A,N,A) as a fourth partner


@dataclass
class ForecastTrainConfig:
    """Forecaster training options (None: the Forecaster's default) and how the run goes.

    ``epochs`` is the Forecaster's: windows drawn per member / distinct training windows;
    ``max_steps`` caps the optimizer steps of each member. The Forecaster trains on the CPU
    with ``threads`` torch threads; ``time_budget`` is not supported (use ``max_steps``).
    ``progress``: a bar for each member while it trains (the Forecaster's ``verbose``; drawn only
    on a terminal and not under ``CI=true``, as every task's).
    """

    epochs: float | None = None
    max_steps: int | None = None
    min_steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None  # Forecaster(weight_decay=...): AdamW's decoupled decay; 0: plain Adam
    seed: int = 0
    threads: int = 1
    device: str = "cpu"
    time_budget: float | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "max_steps", "min_steps", "batch_size", "lr", "threads"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"train.{name} must be > 0, got {value!r}")
        if self.weight_decay is not None and not self.weight_decay >= 0:
            raise ConfigError(f"train.weight_decay must be >= 0, got {self.weight_decay!r}")
        if self.lr is not None and self.lr > MAX_LR:  # larger steps only overflow the weights
            raise ConfigError(f"train.lr must be <= {MAX_LR}, got {self.lr!r}")
        if self.device != "cpu":
            raise ConfigError(f"train.device (--device): the Forecaster trains on the CPU, got {self.device!r}")
        if self.time_budget is not None:
            raise ConfigError("train.time_budget (--time-budget): the Forecaster's budget is in optimizer "
                              "steps; pass --max-steps instead")


BASELINE_NAMES = ("naive", "seasonal_naive", "drift", "ets", "theta", "arima")


@dataclass
class ForecastConfig:
    data: ForecastDataConfig = field(default_factory=ForecastDataConfig)
    model: ForecastModelConfig = field(default_factory=ForecastModelConfig)
    train: ForecastTrainConfig = field(default_factory=ForecastTrainConfig)
    baselines: list[str] = field(
        default_factory=lambda: ["naive", "seasonal_naive", "drift", "ets", "theta"]
    )

    def __post_init__(self) -> None:
        for name in self.baselines:
            if name not in BASELINE_NAMES:
                raise ConfigError(
                    f"baselines: unknown baseline {name!r} (known: {', '.join(BASELINE_NAMES)})"
                )

    def forecaster_options(self) -> dict:
        """The Forecaster keyword options this config sets (the others keep their defaults)."""
        m, t = self.model, self.train
        named = {"hidden": m.hidden_size, "layers": m.num_layers, "members": m.members,
                 "lookbacks": None if m.lookbacks is None else tuple(m.lookbacks),
                 "transform": m.transform, "cell": m.cell, "seasonal_ets": m.seasonal_ets,
                 "weight_decay": t.weight_decay,
                 "epochs": t.epochs, "max_steps": t.max_steps, "min_steps": t.min_steps,
                 "batch_size": t.batch_size, "lr": t.lr, "seed": t.seed,
                 "verbose": t.progress or None}  # None: the default, False, so a saved model matches one fitted alike
        out = {k: v for k, v in named.items() if v is not None}
        if self.data.interval is not None:
            lv = round(self.data.interval * 100, 6)
            lv = int(lv) if lv == int(lv) else lv  # 80 for interval 0.8
            if lv not in ForecasterOptions().levels:  # else: the default levels
                out["levels"] = (lv,)
        return out


def load_forecast_config(path: Path | None = None, overrides=(), base: dict | None = None,
                         named: dict | None = None) -> ForecastConfig:
    """Defaults above (or ``base``, e.g. a resumed run's config), then a TOML file, then
    ``key=value`` overrides, then ``named`` typed values (unknown keys fail)."""
    return load_config(ForecastConfig, path=path, overrides=list(overrides), base=base, named=named)
