"""`Forecaster`: a global RNN forecaster for panels of series, as a fit/predict/save/load object.

    >>> f = Forecaster(horizon=12, season=12).fit(df)      # long frame: unique_id, ds, y
    >>> Forecaster(horizon=12).fit(monthly_df).season      # 12: season None is read from the stamps
    >>> f.predict(level=(80, 95))                          # unique_id, ds, forecast, lo-80, hi-80, lo-95, hi-95
    >>> f.predict(other_df)                                # any series, also ones never seen in fit
    >>> f.save("model"); Forecaster.load("model")

The model (``rnnkit.models.global_forecast.GlobalRNN``) is one GRU trained across all
series on windows scaled by their own level (log scale when every value is positive), with
a pinball loss on the quantiles (option ``loss_scale``: each window's weighted by its
input's naive scale as MASE does, models/global_forecast.py). The forecast is an ensemble:
one member per lookback in ``lookbacks`` (multiples of the horizon), loss in ``loss_scale``
(when it lists several) and seed (``members``); each quantile is the members' median (N-BEATS
ensembles the same way). Training runs optimizer steps that scale with the data:
``steps = clip(epochs · W / batch_size, floor, max_steps)``, W the number of distinct
training windows (sum over series of max(0, n_s - horizon)), the floor ``min_steps`` (option
``max_epochs``: at most that many passes over the W windows). The point forecast combines
the RNN ensemble's median with two classical methods, Theta (``theta.py``) and damped-trend
exponential smoothing (``damped.py``): ``w_r · RNN + w_t · Theta + w_d · Damped``, the band
keeping the RNN's shape. By default fit chooses the weights on the last H points of every
series, held out (``combine.validation_weights``, ``select.py``); ``theta=..., damped=...``
fix them (``theta=0, damped=0``: the RNN alone; why and the figures: docs/forecaster.md).
Option ``intervals="conformal"`` also scales the bands on that window (``calibrate.py``). A panel
of fewer than ``rnn_min_windows`` windows (one short series) takes Theta and Damped alone, and
its band from their rolling-origin errors; an RNN that passed over its windows more than 100
times has its band widened to that one (``empirical.py``, option ``partner_bands``). A model fitted
on values never below 0 forecasts every series whose history is never below 0 no lower than 0
(option ``nonnegative``; a panel with zeros is fitted on the linear scale, where nothing else stops it).

Series handling: a series shorter than a lookback is left-padded and masked; a series
shorter than horizon + 1 gives no training window but is still forecast from what it has;
series of 1-3 points are forecast too, with a warning (little history, wide uncertainty);
a constant series is forecast as its constant with zero-width intervals (a warning); a series
in extreme units (largest |y| outside 1e-6 to 1e15) is fitted and forecast multiplied by a power
of two (``_in_units``), so its forecasts scale with it.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch

from rnnkit.data.panel import (
    NAMES, as_columns, deseasonalise, future_factors, id_kind, last_windows, long_to_panel, output_names,
    sample_windows, scale_windows, seasonal_indices, unit_scales, window_series, with_ids,
)
from rnnkit.errors import ConfigError, DataError
from rnnkit.models.global_forecast import LOSS_SCALES, GlobalRNN, panel_scale
from rnnkit.tasks.forecast.calibrate import band_scales, scale_bands
from rnnkit.tasks.forecast.combine import (
    combine_with_partners, held_out, partners_apply, point_weights,
)
from rnnkit.tasks.forecast.empirical import MEMORISED, partner_bands
from rnnkit.tasks.forecast.frames import long_frame
from rnnkit.tasks.forecast.options import ForecasterOptions
from rnnkit.tasks.forecast.covariates import Covariates
from rnnkit.tasks.forecast.stamps import check_steps, future_stamps, infer_season, time_step
from rnnkit.tasks.forecast.training import WeightAverage, WindowBatches, WindowLoss
from rnnkit.training.config import TrainConfig
from rnnkit.training.seed import rng_kept
from rnnkit.training.trainer import Trainer

__all__ = ["Forecaster", "ForecasterOptions"]


def _quantiles(levels: tuple[int, ...]) -> tuple[float, ...]:
    qs = {0.5} | {round(0.5 - lv / 200, 6) for lv in levels} | {round(0.5 + lv / 200, 6) for lv in levels}
    return tuple(sorted(qs))


class Forecaster:
    def __init__(self, horizon: int, season: int | None = None, **options) -> None:
        if not isinstance(horizon, (int, np.integer)) or horizon < 1:
            raise ConfigError(f"Forecaster: horizon must be a positive integer, got {horizon!r}")
        if season is not None and (not isinstance(season, (int, np.integer)) or season < 1):
            raise ConfigError(f"Forecaster: season must be a positive integer or None, got {season!r}")
        # season None: inferred in fit from the time stamps' frequency (stamps.infer_season; 1 for numbers)
        self.season_given = None if season is None else int(season)
        self.horizon, self.season = int(horizon), self.season_given or 1
        self.options = ForecasterOptions.from_kwargs(options)
        # the arguments as given, every option's default beside them: get_params (scikit-learn's clone)
        self._params = {"horizon": horizon, "season": season} | {
            f.name: options.get(f.name, f.default) for f in dataclasses.fields(ForecasterOptions)}
        self.quantiles = _quantiles(self.options.levels)
        self.members_: list[GlobalRNN] = []
        self.cov_: Covariates | None = None  # static / past / future covariates (covariates.py)
        self.history_: pd.DataFrame | None = None
        self.log_: bool = True
        self.weights_: tuple[float, float, float] = (1.0, 0.0, 0.0)  # RNN, Theta, damped (set by fit)
        self.band_scales_: dict[int, float] = {}  # level: factor on its half-bands (set by fit; calibrate.py)
        self.windows_ = 0  # distinct training windows of the fitted panel (set by fit)
        self.id_kind_ = "str"  # "int": the fitted frame's ids were integers (set by fit)
        self.names_ = NAMES  # (id, time, target) column names of the frame fit was given (set by fit)

    def __repr__(self) -> str:
        """``Forecaster(horizon=12, season=12, max_steps=100)``: the arguments that differ from the defaults."""
        default = ForecasterOptions()
        given = {f.name: getattr(self.options, f.name) for f in dataclasses.fields(self.options)
                 if getattr(self.options, f.name) != getattr(default, f.name)}
        args = [f"horizon={self.horizon}"] + ([f"season={self.season_given}"] if self.season_given else [])
        return f"Forecaster({', '.join(args + [f'{k}={v!r}' for k, v in given.items()])})"

    def get_params(self, deep: bool = True) -> dict:
        """horizon, season and every option, as given or at its default (scikit-learn's convention:
        ``sklearn.base.clone(f)`` and ``Forecaster(**f.get_params())`` are unfitted copies of ``f``)."""
        return dict(self._params)

    def set_params(self, **params) -> Forecaster:
        """Change horizon, season or options, checked as the constructor checks them (an unknown name
        or a bad value: one-line ``ConfigError``). What was fitted is dropped, since it was fitted with
        the old settings: call ``fit`` again; after a refused value, nothing has changed."""
        merged = self._params | params
        type(self)(**merged)  # checked before anything changes
        self.__init__(**merged)
        return self

    # ----------------------------------------------------------------- input
    def _check_series(self, long: pd.DataFrame, fitting: bool) -> None:
        lv = 4 if fitting else 3  # the warnings point at the caller of fit (fit -> _fit_rnn -> here) / predict
        g = long.groupby("unique_id", sort=False)["y"]
        n, lo, hi = g.size(), g.min(), g.max()
        if fitting and n.max() <= self.horizon:
            raise DataError(f"horizon {self.horizon} is longer than every series: training needs at least "
                            f"{self.horizon + 1} points in some series, the longest ({n.idxmax()!r}) has {n.max()}")
        tiny = n[n < 4]
        if len(tiny):
            warnings.warn(f"{len(tiny)} series have fewer than 4 points (first: {tiny.index[0]!r} with "
                          f"{tiny.iloc[0]}); they are forecast from that little history", stacklevel=lv)
        const = (lo == hi) & (n > 1)
        if fitting and const.all():
            raise DataError(f"every series is constant (first: {const.index[0]!r} = {lo.iloc[0]}); nothing to learn")
        if const.any():
            warnings.warn(f"{int(const.sum())} series are constant (first: {const.idxmax()!r} = "
                          f"{lo[const.idxmax()]}); each is forecast as its constant", stacklevel=lv)
        if fitting:
            positive = bool((lo > 0).all())
            if self.options.transform == "log" and not positive:
                bad = lo[lo <= 0]
                raise DataError(f"transform='log' needs values > 0, series {bad.index[0]!r} has {bad.iloc[0]}")
            if self.options.transform == "auto" and not positive:
                warnings.warn("some values are <= 0, so the log transform is off (transform='linear')", stacklevel=lv)
            self.log_ = positive if self.options.transform == "auto" else self.options.transform == "log"
        elif self.log_ and (lo <= 0).any():
            bad = lo[lo <= 0]
            raise DataError(f"this Forecaster was fitted on a log scale; series {bad.index[0]!r} has {bad.iloc[0]} <= 0")

    def _deseason(self, panel):
        """(panel without its seasonal pattern, (S, H) factors that put it back on the forecasts)."""
        if not (self.options.deseason and self.log_ and self.season > 1):
            return panel, torch.ones(len(panel.ids), self.horizon)
        idx = seasonal_indices(panel, self.season)  # (S, m)
        return deseasonalise(panel, idx), future_factors(panel, idx, self.horizon)

    def _lookback(self, mult: float) -> int:
        return max(2, int(round(mult * self.horizon)))

    def _k(self, lookback: int) -> int:
        return max(1, min(self.options.level_points or self.season, lookback))

    # ----------------------------------------------------------------- fit
    def fit(self, df, id_col: str = "unique_id", time_col: str = "ds", target_col: str = "y",
            static=None, past=None, future=None) -> Forecaster:
        """Train on a long frame (or one series: a frame without id column, a pandas Series, or a 1-D
        array or list of its values, read as steps 0, 1, ...).

        static, past, future: names of covariate columns of df (see covariates.py)."""
        long = self._fit_rnn(df, id_col, time_col, target_col, static, past, future)
        o, self.band_scales_ = self.options, {}
        choose = o.theta is None and o.damped is None and self.windows_ >= o.rnn_min_windows
        held = (held_out(self, long, partners=partners_apply(self))
                if self.cov_ is None and (choose or o.intervals == "conformal") else None)
        self.weights_ = point_weights(self, long, held)  # combine.py
        if held is not None and o.intervals == "conformal":  # calibrate.py: the bands scaled on the same window
            mid = self.quantiles.index(0.5)
            q = combine_with_partners(held.rnn, held.panel, mid, self.horizon, self.season, self.log_,
                                      *self.weights_[1:], partners=held.partners)
            self.band_scales_ = band_scales(q, held.actual, self.quantiles, o.levels, self.log_)
        return self

    def _fit_rnn(self, df, id_col, time_col, target_col, static, past, future, stage: str = "") -> pd.DataFrame:
        """fit without the weights: the RNN members (weights_ stays as it was); the validated long frame,
        each series in the units it is fitted in (``_in_units``). ``stage`` names the fit on the
        progress bar (``verbose``), e.g. the held-out window's."""
        df = as_columns(df, id_col, time_col)  # id and time kept as index levels: the covariates read them too
        long = long_frame(df, id_col, time_col, target_col, "fit")
        self.id_kind_ = id_kind(df, id_col)  # integer ids come back as integers (predict)
        self.names_ = (id_col, time_col, target_col)  # forecasts come back under them (predict; checked in long_frame)
        step = check_steps(long, "fit")  # rows are read as consecutive steps: a gap would shift the season (stamps.py)
        self.season = self.season_given or infer_season(step)
        self.cov_ = Covariates.fit(df, id_col, time_col, static, past, future, long)
        self._check_series(long, fitting=True)
        self.history_ = long
        long = self._in_units(long)[0]
        panel = self._deseason(long_to_panel(long, "unique_id", "y"))[0]
        self._cov_panels = self.cov_.panels(self.cov_.history, panel) if self.cov_ else None
        o = self.options
        windows = self.windows_ = int((panel.lengths - self.horizon).clamp(min=0).sum())  # distinct (series, cut) pairs
        floor = o.min_steps if o.max_epochs is None else min(o.min_steps, math.ceil(o.max_epochs * windows / o.batch_size))
        steps = int(min(o.max_steps, max(floor, math.ceil(o.epochs * windows / o.batch_size), 1)))
        history = None if o.history is None else max(1, int(round(o.history * self.horizon)))
        self.members_, self.steps_ = [], steps
        per = o.members * len(o.losses)
        for i, mult in enumerate(o.lookbacks):
            for j in range(per):  # member j of a lookback: loss entry j mod the entries
                label = f"{stage}member {i * per + j + 1}/{len(o.lookbacks) * per}"
                seed = o.seed * 1000 + i * 100 + j
                self.members_.append(self._train_member(panel, self._lookback(mult), steps, history, seed,
                                                        o.losses[j % len(o.losses)], label))
        return long

    @staticmethod
    def _in_units(long: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray | None]:
        """``long`` with each series whose magnitude is extreme multiplied by a power of two
        (``rnnkit.data.panel.unit_scales``), and those factors by series in order of appearance;
        ``long`` itself and None when every series is in range (nearly always)."""
        scales = unit_scales(long)
        if (scales == 1.0).all():
            return long, None
        return long.assign(y=long["y"] * long["unique_id"].map(scales).to_numpy()), scales.to_numpy()

    def _train_member(self, panel, lookback: int, steps: int, history: int | None, seed: int,
                      loss_scale: str | None, label: str | None = None) -> GlobalRNN:
        """One member, trained for ``steps`` optimizer steps on the shared Trainer (training.py); the
        caller's global RNGs are left as they were (the Trainer seeds them)."""
        o = self.options
        with rng_kept():
            torch.manual_seed(seed)
            segment = o.segment or max(1, math.ceil(lookback / 8))
            norm_ref = (self._loss_ref(panel, lookback, False) or 1.0) if o.window_norm else None
            net = GlobalRNN(lookback, self.horizon, self.quantiles, o.hidden, o.layers, segment,
                            **(self.cov_.sizes() if self.cov_ else {}), norm_ref=norm_ref, cell=o.cell)
            power, seasonal = LOSS_SCALES.get(loss_scale, (0.0, False))
            weighting = ((self.season, self._loss_ref(panel, lookback, seasonal), power, seasonal)
                         if loss_scale else None)
            eligible = window_series(panel, self.horizon)  # once, not at every step: O(S)
            batches = WindowBatches(lambda gen: self._windows(panel, o.batch_size, lookback, history, gen, eligible),
                                    o.batch_size, steps, seed)
            decay = {"optimizer": "adamw", "weight_decay": o.weight_decay} if o.weight_decay else {}
            cfg = TrainConfig(epochs=1, max_steps=steps, batch_size=o.batch_size, lr=o.lr, grad_clip=1.0, **decay,
                              scheduler="onecycle", seed=seed, device="cpu", progress=o.verbose, checkpoint=False)
            Trainer(WindowLoss(net, self._k(lookback), self.log_, weighting), cfg,
                    callbacks=[WeightAverage(o.ema)] if o.ema else [], label=label).fit(batches)
        return net.eval()

    def _loss_ref(self, panel, lookback: int, seasonal: bool) -> float | None:
        """r of loss_scale and of window_norm (seasonal=False: lag-1 scales; models/global_forecast.py):
        the median scale of every training series' last window."""
        x, m = last_windows(panel, lookback)  # (S, L)
        keep = panel.lengths > self.horizon
        z = scale_windows(x[keep], m[keep], self._k(lookback), self.log_)[0]
        return panel_scale(z, m[keep], self.season, seasonal)

    def _windows(self, panel, batch: int, lookback: int, history: int | None, gen, eligible):
        """A global training batch: x, m, y and the model's covariate inputs ({} without covariates).
        ``eligible``: the series that give windows (``window_series``), found once per member."""
        if self.cov_ is None:
            return (*sample_windows(panel, batch, lookback, self.horizon, history, gen, eligible), {})
        return self.cov_.sample(panel, *self._cov_panels, batch, lookback, self.horizon, history, gen, eligible)

    def _cov_inputs(self, df, long, panel, future_df, id_col: str, time_col: str, ds: np.ndarray):
        """(hist, static, future) covariate panels for forecasting from ``long``; None without covariates."""
        if self.cov_ is None:
            if future_df is not None:
                raise DataError("predict: future_df was given, but this Forecaster was fitted without future covariates")
            return None
        frame = self.cov_.history if df is None else self.cov_.frame(df, id_col, time_col, long, "predict")
        hist, static = self.cov_.panels(frame, panel)
        return hist, static, self.cov_.future_panel(future_df, id_col, time_col, panel.ids, ds, self.horizon)

    def _names(self, id_col, time_col, target_col) -> tuple:
        """The (id, time, target) column names in use: each one given, or else the one ``fit`` was given."""
        return tuple(fitted if given is None else given
                     for given, fitted in zip((id_col, time_col, target_col), self.names_))

    # ----------------------------------------------------------------- predict
    def predict(self, df=None, level=(80, 95), id_col: str | None = None, time_col: str | None = None,
                target_col: str | None = None, future_df=None, h: int | None = None) -> pd.DataFrame:
        """Forecast the next `horizon` steps of every series in df (default: the fitted data), or the
        first ``h`` of them (statsforecast's ``predict(h=...)``; at most ``horizon``, which the network
        emits at once, so ``future_df`` still gives every known-future value over the ``horizon``).

        Column names left at None are the ones ``fit`` was given; the forecasts come back with the
        id and time columns under the names in use (statsforecast's and neuralforecast's convention)."""
        if not self.members_:
            raise ConfigError("Forecaster: call fit() (or Forecaster.load) before predict()")
        id_col, time_col, target_col = self._names(id_col, time_col, target_col)
        if df is None:
            output_names(id_col, time_col, target_col)  # else long_frame checks them
        if h is not None and (isinstance(h, bool) or not isinstance(h, Integral) or not 1 <= h <= self.horizon):
            raise ConfigError(f"predict: h must be a whole number of steps from 1 to the horizon ({self.horizon}) "
                              f"this Forecaster was fitted for, got {h!r}; refit with a longer horizon for more")
        level = (level,) if isinstance(level, Real) else tuple(level or ())  # level=80 as statsforecast's [80]
        for lv in level:
            if lv not in self.options.levels:
                raise ConfigError(f"predict: level {lv!r} was not trained; levels={self.options.levels!r} "
                                  "(set levels=... when creating the Forecaster)")
        df, future_df = as_columns(df, id_col, time_col), as_columns(future_df, id_col, time_col)
        fitted = time_step(self.history_)
        if df is None:
            long, step = self.history_, fitted
        else:
            long = long_frame(df, id_col, time_col, target_col, "predict")
            step = check_steps(long, "predict", fitted)  # series too short to tell their step: fit's
            self._check_series(long, fitting=False)
        units, scales = self._in_units(long)  # scales: (S,) in panel order, or None
        raw = long_to_panel(units, "unique_id", "y")
        panel, factors = self._deseason(raw)  # factors (S, H)
        ds = future_stamps(long, panel.ids, self.horizon, step)  # (S * H,)
        cov_in = self._cov_inputs(df, long, panel, future_df, id_col, time_col, ds)
        per_member = []
        with torch.no_grad():
            for model in self.members_:
                x, m = last_windows(panel, model.lookback)  # (S, L)
                extra = Covariates.last(*cov_in, model.lookback) if self.cov_ else {}
                z, lvl, spread = scale_windows(x, m, self._k(model.lookback), self.log_)
                q = model(z, m, **extra)  # (S, H, Q)
                q = lvl[:, None, None] * torch.exp(q) if self.log_ else lvl[:, None, None] + spread[:, None, None] * q
                per_member.append(q * factors[:, :, None])
        q = torch.stack(per_member).median(dim=0).values.sort(dim=-1).values.double()  # (S, H, Q)
        qi = {round(t, 6): i for i, t in enumerate(self.quantiles)}
        q = combine_with_partners(q, raw, qi[0.5], self.horizon, self.season, self.log_, *self.weights_[1:])
        w, passes = self.weights_, self.steps_ * self.options.batch_size / max(self.windows_, 1)
        if self.options.partner_bands and w[0] < 1 and (w[0] == 0 or passes > MEMORISED):  # empirical.py
            q = partner_bands(q, raw, qi[0.5], self.quantiles, self.horizon, self.season, self.log_, *w[1:3],
                              union=w[0] > 0)  # from Theta's and the damped trend's errors
        q = scale_bands(q, self.band_scales_, self.quantiles, self.log_).numpy()  # calibrate.py
        if scales is not None:
            q = q / scales[:, None, None]  # back to each series' own units
        g = long.groupby("unique_id", sort=False)["y"]
        lo = g.min().reindex(panel.ids)  # each series' lowest value, in panel order
        if self.options.nonnegative and self.history_["y"].min() >= 0:  # fitted on a quantity never below 0
            floor = (lo >= 0).to_numpy()  # (S,) series whose own history is >= 0
            q[floor] = q[floor].clip(min=0)  # every quantile: the order of the band is kept
        const = (lo == g.max().reindex(panel.ids)).to_numpy()
        q[const] = g.last().reindex(panel.ids).to_numpy()[const][:, None, None]
        out = pd.DataFrame({"unique_id": np.repeat(panel.ids, self.horizon), "ds": ds})
        out["forecast"] = q[:, :, qi[0.5]].ravel()
        for lv in level:
            out[f"lo-{lv}"] = q[:, :, qi[round(0.5 - lv / 200, 6)]].ravel()
            out[f"hi-{lv}"] = q[:, :, qi[round(0.5 + lv / 200, 6)]].ravel()
        if h is not None and h < self.horizon:
            out = out[np.tile(np.arange(self.horizon) < h, len(panel.ids))].reset_index(drop=True)
        out = with_ids(out, self.id_kind_ if df is None else id_kind(df, id_col))  # ids of the type they came in
        return out.rename(columns={"unique_id": id_col, "ds": time_col})

    def cross_validation(self, df, n_windows: int = 1, step: int | None = None, refit: bool = True,
                         level=(80, 95), id_col: str | None = None, time_col: str | None = None,
                         target_col: str | None = None, **covariates) -> pd.DataFrame:
        """Every fold's forecasts (see ``rnnkit.tasks.forecast.cross_validation``); column names left at
        None are the ones ``fit`` was given (unique_id, ds, y before any fit)."""
        from rnnkit.tasks.forecast.cross_validation import cross_validation

        return cross_validation(self, df, n_windows, step, refit, level, *self._names(id_col, time_col, target_col),
                                **covariates)

    # ----------------------------------------------------------------- save / load
    def save(self, path) -> None:
        """Write weights and history (model.safetensors) and settings (forecaster.json); no pickle."""
        from rnnkit.tasks.forecast.saved import save

        save(self, path)

    @classmethod
    def load(cls, path) -> Forecaster:
        """A Forecaster written by ``save`` (every file checked first: saved.py)."""
        from rnnkit.tasks.forecast.saved import load

        return load(cls, path)
