"""`ForecasterOptions`: the Forecaster's options beyond horizon and season, with their
defaults and checks (one place: the CLI's [model]/[train] tables read their defaults
from here too, tasks/forecast/config.py). What each option does: docs/forecaster.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from numbers import Integral, Real

from rnnkit.errors import ConfigError
from rnnkit.models.global_forecast import LOSS_SCALES
from rnnkit.tasks.forecast.combine import PRIOR
from rnnkit.tasks.forecast.select import LOSSES

__all__ = ["ForecasterOptions"]


# (option, lowest value, integer?, None allowed?): checked by ForecasterOptions.from_kwargs
COUNTS = (("members", 1, True, False), ("hidden", 1, True, False), ("layers", 1, True, False),
          ("batch_size", 1, True, False), ("min_steps", 0, True, False), ("max_steps", 1, True, False),
          ("segment", 1, True, True), ("level_points", 1, True, True), ("seed", 0, True, False),
          ("rnn_min_windows", 0, True, False), ("weight_windows", 1, True, False),
          ("epochs", 0, False, False), ("history", 0, False, True))


@dataclass(frozen=True)
class ForecasterOptions:
    lookbacks: tuple[float, ...] = (2.0, 3.0)  # input window lengths, in horizons
    members: int = 1  # seeds per lookback
    hidden: int = 64
    layers: int = 1
    segment: int | None = None  # points per RNN step; None: ceil(L / 8)
    epochs: float = 8.0  # windows drawn per member / distinct training windows in the panel
    min_steps: int = 200
    max_steps: int = 4000
    # a number: the floor min_steps never makes a member pass more than max_epochs times over the
    # distinct training windows (one short series; docs/forecaster.md, thirteenth session); None: no cap
    max_epochs: float | None = None
    batch_size: int = 256
    lr: float = 3e-3
    # decoupled weight decay (AdamW) of every parameter; 0: Adam without decay (twenty-third session's candidate)
    weight_decay: float = 0.0
    cell: str = "gru"  # the recurrent cell: gru | lstm (twenty-third session's candidate)
    ema: float = 0.0  # decay of an exponential moving average of the weights (0: the last weights)
    levels: tuple[int, ...] = (80, 95)
    history: float | None = None  # cut points from the last `history` horizons only; None: all
    transform: str = "auto"  # auto | log | linear
    level_points: int | None = None  # points averaged for each window's level; None: season
    deseason: bool = False  # log scale and season > 1: divide out classical seasonal indices first
    theta: float | None = None  # weight of the Theta method's forecast; None (with damped None): chosen in fit
    damped: float | None = None  # weight of the damped-trend forecast; a None beside a set weight counts 0.2
    # a panel with fewer distinct training windows (sum over series of n - horizon) gets Theta and the damped
    # trend's mean as its point forecast, the RNN only its band's shape, when theta and damped are None; 0: off
    rnn_min_windows: int = 40
    # such a panel's band from the partners' own errors from rolling origins, and an RNN band that passed over its
    # windows more than 100 times widened to it (empirical.py; docs/forecaster.md, fourteenth session); False: the RNN's
    partner_bands: bool = True
    # True: when every value fit saw is >= 0, each series whose own history is >= 0 gets its forecast and band floored
    # at 0 (a linear-scale panel, with zeros, can otherwise forecast below 0; a log-scale one never does; eighteenth
    # session, docs/forecaster.md); False: no floor, as for models saved before the option
    nonnegative: bool = True
    weight_loss: str = "geometric"  # how fit scores the weights: geometric | mean of the series' MASE (select.py)
    # held-out windows the weights are chosen on, pooled: the last H points, and with 2 also the H before them
    # (one more RNN copy fitted inside fit per extra window; combine.validation_weights, fifteenth session)
    weight_windows: int = 1
    # each training window's loss over its input's naive error ("mase") or its square root ("mase-sqrt"), None (the
    # default) the plain mean pinball loss (global_forecast.py; docs/forecaster.md, eighth session). A tuple of those:
    # each lookback trains one member per entry (times `members`), an ensemble over losses (sixteenth session)
    loss_scale: str | None | tuple[str | None, ...] = None
    # "naive": each window seen in units of its own naive scale, the output scaled back (RevIN-like;
    # global_forecast.py); None: windows scaled by their level only
    window_norm: str | None = None
    # "quantile" (the default): the pinball-loss quantiles as they are; "conformal": each level's band
    # scaled to its coverage on the window fit holds out (calibrate.py; docs/forecaster.md, thirteenth session)
    intervals: str = "quantile"
    seed: int = 0
    # a progress bar for each member while fit trains (on a terminal, not under CI=true), as the Classifier's verbose
    verbose: bool = False
    # ETS(A,N,A), an additive moving season, as a fourth partner whose weight fit chooses (prior 0) on a positive
    # panel whose season is 2..24 (seasonal_ets.py; docs/forecaster.md, twenty-fourth session); False: the two partners
    seasonal_ets: bool = False

    @property
    def losses(self) -> tuple[str | None, ...]:
        """loss_scale as a tuple: the loss of each member of a lookback, in turn."""
        return self.loss_scale if isinstance(self.loss_scale, tuple) else (self.loss_scale,)

    @classmethod
    def from_kwargs(cls, kw: dict) -> ForecasterOptions:
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for k in kw:
            if k not in fields:
                raise ConfigError(f"Forecaster: unknown option {k!r} (options: {', '.join(fields)})")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
        if isinstance(kw.get("lookbacks"), (int, float)):
            kw["lookbacks"] = (float(kw["lookbacks"]),)
        opts = cls(**kw)
        if opts.transform not in ("auto", "log", "linear"):
            raise ConfigError(f"Forecaster: transform must be auto, log or linear, got {opts.transform!r}")
        for lv in opts.levels:
            if not 0 < lv < 100:
                raise ConfigError(f"Forecaster: each level must be in (0, 100), got {lv!r}")
        if opts.weight_loss not in LOSSES:
            raise ConfigError(f"Forecaster: weight_loss must be {' or '.join(LOSSES)}, got {opts.weight_loss!r}")
        if not opts.losses or any(v is not None and v not in LOSS_SCALES for v in opts.losses):
            raise ConfigError(f"Forecaster: loss_scale must be None or {' or '.join(LOSS_SCALES)}, or a non-empty "
                              f"list of them (one member per entry), got {opts.loss_scale!r}")
        if opts.window_norm not in (None, "naive"):
            raise ConfigError(f"Forecaster: window_norm must be None or 'naive', got {opts.window_norm!r}")
        if opts.intervals not in ("conformal", "quantile"):
            raise ConfigError(f"Forecaster: intervals must be 'conformal' or 'quantile', got {opts.intervals!r}")
        if opts.max_epochs is not None and not (isinstance(opts.max_epochs, (int, float)) and opts.max_epochs > 0):
            raise ConfigError(f"Forecaster: max_epochs must be None or a positive number, got {opts.max_epochs!r}")
        if opts.cell not in ("gru", "lstm"):
            raise ConfigError(f"Forecaster: cell must be 'gru' or 'lstm', got {opts.cell!r}")
        if isinstance(opts.weight_decay, bool) or not isinstance(opts.weight_decay, Real) or not opts.weight_decay >= 0:
            raise ConfigError(f"Forecaster: weight_decay must be a number >= 0, got {opts.weight_decay!r}")
        if not 0 <= opts.ema < 1:
            raise ConfigError(f"Forecaster: ema (weight-average decay) must be in [0, 1), got {opts.ema!r}")
        theta, damped = (PRIOR[1] if opts.theta is None else opts.theta), (PRIOR[2] if opts.damped is None else opts.damped)
        if not isinstance(theta, (int, float)) or not 0 <= theta < 1:
            raise ConfigError(f"Forecaster: theta (the Theta method's weight) must be None or in [0, 1), got {opts.theta!r}")
        if not isinstance(damped, (int, float)) or not 0 <= damped < 1 or theta + damped >= 1:
            raise ConfigError(f"Forecaster: damped (the damped-trend weight) must be None or in [0, 1) and theta + "
                              f"damped < 1 (the RNN keeps the rest), got damped={opts.damped!r}, theta={opts.theta!r}")
        if not isinstance(opts.nonnegative, bool):
            raise ConfigError(f"Forecaster: nonnegative must be True or False, got {opts.nonnegative!r}")
        if not isinstance(opts.verbose, bool):
            raise ConfigError(f"Forecaster: verbose must be True or False, got {opts.verbose!r}")
        if not isinstance(opts.seasonal_ets, bool):
            raise ConfigError(f"Forecaster: seasonal_ets must be True or False, got {opts.seasonal_ets!r}")
        if not isinstance(opts.partner_bands, bool):
            raise ConfigError(f"Forecaster: partner_bands must be True or False, got {opts.partner_bands!r}")
        for name, low, whole, optional in COUNTS:  # sizes and step counts: one line, not torch's error later
            v = getattr(opts, name)
            if optional and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, Integral if whole else Real) or not v >= low:
                kind = f"an integer >= {low}" if whole else f"a number >= {low}"
                raise ConfigError(f"Forecaster: {name} must be {kind}{' or None' if optional else ''}, got {v!r}")
        if isinstance(opts.lr, bool) or not isinstance(opts.lr, Real) or not opts.lr > 0:
            raise ConfigError(f"Forecaster: lr must be a positive number, got {opts.lr!r}")
        if isinstance(opts.lookbacks, str) or not opts.lookbacks or any(
                isinstance(lb, bool) or not isinstance(lb, Real) or not lb > 0 for lb in opts.lookbacks):
            raise ConfigError(f"Forecaster: lookbacks must be positive multiples of the horizon, got {opts.lookbacks!r}")
        return opts
