"""Covariates of a `Forecaster`: static, past-only and known-future columns of the long frame.

``fit(df, static=[...], past=[...], future=[...])`` names columns of the training frame:

    static   constant within each series (a store's size, a product's category code)
    past     observed up to the forecast origin only (yesterday's temperature)
    future   known in advance over the horizon too (prices, promotions, holidays);
             ``predict(future_df=...)`` gives their values over the next H steps

Every column is standardised with its mean and standard deviation over the training frame
(std 1 where constant); the level scaling of the target never touches them. In the
network (``GlobalRNN``) the past and future columns over the input window sit beside the
scaled values in each GRU segment (n_past = |past| + |future| channels), the future
columns over the horizon (H · |future|) and the static ones enter the head beside the
GRU's last state.

Panels of covariates are right-aligned like the target panel (``rnnkit.data.panel``):

    hist    (S, T, |past| + |future|)   static  (S, |static|)   future  (S, H, |future|)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from rnnkit.errors import DataError

__all__ = ["Covariates"]


def _numeric(frame: pd.DataFrame, col: str, what: str, id_col: str, time_col: str) -> np.ndarray:
    """The column as finite float64; a non-number or NaN is one line naming row, series and column."""
    y = pd.to_numeric(frame[col], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(y)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        v = frame[col].iloc[i]
        shown = repr(v) if isinstance(v, str) else str(v)
        raise DataError(f"{what}: column {col!r} row {i} (series {frame[id_col].iloc[i]!r}, {time_col} "
                        f"{frame[time_col].iloc[i]}) is {shown}; "
                        "covariates must be finite numbers")
    return y


@dataclass
class Covariates:
    static: list[str]
    past: list[str]
    future: list[str]
    mean: np.ndarray  # (K,) over static + past + future, in that order
    std: np.ndarray  # (K,)
    history: pd.DataFrame | None = None  # unique_id, ds and the columns of the fitted frame

    @property
    def columns(self) -> list[str]:
        return [*self.static, *self.past, *self.future]

    def sizes(self) -> dict:
        """GlobalRNN's covariate arguments."""
        return {"n_past": len(self.past) + len(self.future), "n_future": len(self.future),
                "n_static": len(self.static)}

    # ------------------------------------------------------------------ frames
    @classmethod
    def fit(cls, df, id_col: str, time_col: str, static, past, future, long: pd.DataFrame) -> Covariates | None:
        """The covariate spec of a training frame (None when no column is named)."""
        names = [list(static or ()), list(past or ()), list(future or ())]
        if not any(names):
            return None
        for group, arg in zip(names, ("static", "past", "future")):
            for col in group:
                if not isinstance(df, pd.DataFrame) or col not in df.columns:
                    raise DataError(f"fit: {arg}={col!r} is not a column of df")
        cols = [c for g in names for c in g]
        if len(set(cols)) < len(cols) or {id_col, time_col} & set(cols):
            raise DataError(f"fit: static, past and future name each column once, never the id or time "
                            f"column (got {cols})")
        spec = cls(*names, np.zeros(len(cols)), np.ones(len(cols)))
        frame = spec.frame(df, id_col, time_col, long, "fit")
        values = frame[cols].to_numpy(float)
        std = values.std(axis=0)
        spec.mean, spec.std = values.mean(axis=0), np.where(std > 1e-12, std, 1.0)
        spec.history = frame
        return spec

    def frame(self, df, id_col: str, time_col: str, long: pd.DataFrame, what: str) -> pd.DataFrame:
        """unique_id, ds and the covariate columns of ``df``, in the row order of ``long``."""
        for col in self.columns:
            if not isinstance(df, pd.DataFrame) or col not in df.columns:
                raise DataError(f"{what}: covariate column {col!r} is missing from df")
        if id_col not in df.columns:  # one series without an id column, as frames.long_frame takes it
            df = df.assign(**{id_col: "series"})
            if time_col not in df.columns:
                df[time_col] = np.arange(len(df))
        out = df[[id_col, time_col, *self.columns]].rename(columns={id_col: "unique_id", time_col: "ds"})
        out = out.assign(unique_id=out["unique_id"].astype(str))
        out = out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
        for col in self.columns:
            out[col] = _numeric(out, col, what, "unique_id", "ds")
        for col in self.static:
            spread = out.groupby("unique_id", sort=False)[col].agg(["min", "max"])
            varies = spread.index[spread["min"] != spread["max"]]
            if len(varies):
                raise DataError(f"{what}: static column {col!r} varies within series {varies[0]!r}; "
                                "a static covariate has one value per series")
        if len(out) != len(long) or not (out["ds"].to_numpy() == long["ds"].to_numpy()).all():
            raise DataError(f"{what}: the covariate rows do not match the target rows")  # cannot happen
        return out

    # ------------------------------------------------------------------ tensors
    def panels(self, frame: pd.DataFrame, panel) -> tuple[torch.Tensor, torch.Tensor]:
        """hist (S, T, |past| + |future|) right-aligned like ``panel``, static (S, |static|); standardised."""
        codes, _ = pd.factorize(frame["unique_id"], sort=False)
        lengths = np.bincount(codes, minlength=len(panel.ids))
        S, T = panel.values.shape
        start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        col = T - lengths[codes] + (np.arange(len(frame)) - start[codes])
        z = (frame[self.columns].to_numpy(float) - self.mean) / self.std  # (N, K)
        ks = len(self.static)
        hist = np.zeros((S, T, z.shape[1] - ks), np.float32)
        hist[codes, col] = z[:, ks:]
        static = np.zeros((S, ks), np.float32)
        static[codes] = z[:, :ks]
        return torch.from_numpy(hist), torch.from_numpy(static)

    def future_panel(self, future_df, id_col: str, time_col: str, ids: list[str], ds: np.ndarray,
                     horizon: int) -> torch.Tensor:
        """(S, H, |future|) standardised values of the known-future columns at each series' next H steps.

        ``ds`` (S·H,) holds the expected time stamps (series-major). Unknown ids, missing rows
        and NaN are one line naming the series and column."""
        if not self.future:
            return torch.zeros(len(ids), horizon, 0)
        if future_df is None:
            raise DataError(f"predict: this Forecaster was fitted with future covariates {self.future}; pass "
                            f"future_df with their values over the next {horizon} steps of every series")
        if not isinstance(future_df, pd.DataFrame):
            raise DataError(f"predict: future_df must be a pandas DataFrame, got {type(future_df).__name__}")
        for col in (id_col, time_col, *self.future):
            if col not in future_df.columns:
                raise DataError(f"predict: future_df has no column {col!r}")
        fut = future_df[[id_col, time_col, *self.future]].rename(columns={id_col: "unique_id", time_col: "ds"})
        fut = fut.assign(unique_id=fut["unique_id"].astype(str))
        unknown = sorted(set(fut["unique_id"]) - set(ids))
        if unknown:
            raise DataError(f"predict: future_df has id {unknown[0]!r}, which is not among the series "
                            f"being forecast")
        want = pd.DataFrame({"unique_id": np.repeat(ids, horizon), "ds": ds})
        got = want.merge(fut.drop_duplicates(["unique_id", "ds"]), on=["unique_id", "ds"], how="left",
                         indicator=True)
        miss = (got["_merge"] == "left_only").to_numpy()
        if miss.any():
            i = int(np.flatnonzero(miss)[0])
            raise DataError(f"predict: future_df has no row for series {got['unique_id'].iloc[i]!r} at {time_col} "
                            f"{got['ds'].iloc[i]} (it needs each series' next {horizon} steps of {self.future})")
        for col in self.future:
            got[col] = _numeric(got, col, "predict: future_df", "unique_id", "ds")
        k = len(self.static) + len(self.past)
        z = (got[self.future].to_numpy(float) - self.mean[k:]) / self.std[k:]  # (S·H, |future|)
        return torch.from_numpy(z.astype(np.float32)).view(len(ids), horizon, -1)

    # ------------------------------------------------------------------ windows
    @staticmethod
    def _gather(t: torch.Tensor, rows: torch.Tensor, first: torch.Tensor, width: int) -> torch.Tensor:
        cols = first[:, None] + torch.arange(width)  # (B, width)
        return t[rows[:, None], cols.clamp(min=0)] * (cols >= 0)[..., None]  # (B, width, K)

    def sample(self, panel, hist: torch.Tensor, static: torch.Tensor, batch: int, lookback: int,
               horizon: int, history: int | None, gen: torch.Generator, eligible: torch.Tensor | None = None):
        """As ``rnnkit.data.panel.sample_windows`` (same draws), plus each window's covariates:
        x, m (B, L), y (B, H) and {past (B, L, n_past), future (B, H, n_future), static (B, n_static)}."""
        from rnnkit.data.panel import _gather, draw_windows

        rows, target_first = draw_windows(panel, batch, horizon, history, gen, eligible)  # (B,), (B,)
        x, m = _gather(panel, rows, target_first - lookback, lookback)
        y, _ = _gather(panel, rows, target_first, horizon)
        extra = {"past": self._gather(hist, rows, target_first - lookback, lookback),
                 "future": self._gather(hist[:, :, len(self.past):], rows, target_first, horizon),
                 "static": static[rows]}
        return x, m, y, extra

    @staticmethod
    def last(hist: torch.Tensor, static: torch.Tensor, future: torch.Tensor, lookback: int) -> dict:
        """Inputs for forecasting from the last L points of every series (see ``sample``)."""
        S, T, _ = hist.shape
        first = torch.full((S,), T - lookback)
        return {"past": Covariates._gather(hist, torch.arange(S), first, lookback), "future": future,
                "static": static}

    # ------------------------------------------------------------------ save / load
    def to_meta(self) -> dict:
        return {"static": self.static, "past": self.past, "future": self.future,
                "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_meta(cls, meta: dict | None, history: pd.DataFrame | None) -> Covariates | None:
        if not meta:
            return None
        return cls(list(meta["static"]), list(meta["past"]), list(meta["future"]),
                   np.asarray(meta["mean"], float), np.asarray(meta["std"], float), history)
