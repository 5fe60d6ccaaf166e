"""Rolling-origin evaluation of a `Forecaster`: every fold's forecasts in one long frame.

With n windows and step s, fold i (0..n-1) of a series of N points forecasts the h points
that end at N - (n - 1 - i)·s, from the points before them (its cutoff is the last of
those). ``refit=True`` fits a fresh Forecaster (same horizon, season and options) per fold;
Covariates (``static``, ``past``, ``future``: column names, as for ``fit``) go to each
fit, and each fold's known-future values are taken from its test window.
``refit=False`` fits once on fold 0's history and then only predicts from each later
fold's longer history (the global model forecasts any history it is given).
Series too short for a fold's cutoff (fewer than 1 point before it) are left out of it.
``fit_fold(i, train)``, when given, returns the fitted Forecaster of fold i instead of a
fresh fit (the CLI's backtest uses it to save each fold's model and to resume from them).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from rnnkit.data.panel import as_columns, id_kind, output_names, with_ids
from rnnkit.errors import ConfigError
from rnnkit.tasks.forecast.frames import long_frame
from rnnkit.tasks.forecast.stamps import check_steps

__all__ = ["cross_validation"]


def cross_validation(forecaster, df, n_windows: int = 1, step: int | None = None, refit: bool = True,
                     level=(80, 95), id_col: str = "unique_id", time_col: str = "ds",
                     target_col: str = "y", fit_fold=None, static=None, past=None, future=None) -> pd.DataFrame:
    """id, time, cutoff, target, forecast, lo-*, hi-* for every fold (see the module doc), the first,
    second and fourth under the names given (unique_id, ds, y by default)."""
    id_col, time_col, target_col = output_names(id_col, time_col, target_col, cutoff=True)
    h = forecaster.horizon
    step = h if step is None else step
    if not isinstance(n_windows, (int, np.integer)) or n_windows < 1:
        raise ConfigError(f"cross_validation: n_windows must be a positive integer, got {n_windows!r}")
    if not isinstance(step, (int, np.integer)) or step < 1:
        raise ConfigError(f"cross_validation: step must be a positive integer, got {step!r}")
    df = as_columns(df, id_col, time_col)
    long = long_frame(df, id_col, time_col, target_col, "cross_validation")
    kind = id_kind(df, id_col)  # integer ids come back as integers, each fold's series in their order
    check_steps(long, "cross_validation")
    cov = {k: list(v) for k, v in (("static", static), ("past", past), ("future", future)) if v}
    if cov:  # covariate columns beside the target, in the validated frame's (id, time) order
        extra = df.rename(columns={id_col: "unique_id", time_col: "ds"})
        extra = extra.assign(unique_id=extra["unique_id"].astype(str))
        extra = extra.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
        long = pd.concat([long, extra[[c for v in cov.values() for c in v]]], axis=1)
    pos_from_end = long.groupby("unique_id", sort=False).cumcount(ascending=False).to_numpy()  # 0 = last point
    opts = dataclasses.asdict(forecaster.options)
    folds, model = [], None
    for i in range(n_windows):
        back = (n_windows - 1 - i) * step  # points after this fold's test window
        test = long[(pos_from_end >= back) & (pos_from_end < back + h)]
        train = long[pos_from_end >= back + h]
        if len(train) == 0:
            raise ConfigError(f"cross_validation: fold {i} leaves no history before its test window "
                              f"(n_windows={n_windows}, step={step}, horizon={h})")
        if model is None or refit:
            model = (fit_fold(i, train) if fit_fold is not None
                     else type(forecaster)(h, forecaster.season_given, **opts).fit(train, **cov))
        known = {"future_df": test[["unique_id", "ds", *cov["future"]]]} if cov.get("future") else {}
        fc = model.predict(train, level=level, **known)
        cutoff = train.groupby("unique_id", sort=False)["ds"].last().rename("cutoff")
        test = test.assign(k=test.groupby("unique_id", sort=False).cumcount())
        fc = fc.assign(k=fc.groupby("unique_id", sort=False).cumcount())
        fold = fc.drop(columns="ds").merge(test, on=["unique_id", "k"], how="inner").join(cutoff, on="unique_id")
        folds.append(with_ids(fold, kind))  # the folds ran on text ids (validate_long)
    out = pd.concat(folds, ignore_index=True)
    cols = ["unique_id", "ds", "cutoff", "y"] + [c for c in out.columns if c == "forecast" or c[:3] in ("lo-", "hi-")]
    return out[cols].rename(columns={"unique_id": id_col, "ds": time_col, "y": target_col})
