"""Forecaster covariates: static, past and known-future columns; future_df checks are one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rnnkit.errors import DataError
from rnnkit.tasks.forecast.estimator import Forecaster

H = 6


def _panel(n_series=4, n=60, seed=0):
    """Sales jump by 8 on promotion days (random, known in advance): only future covariates tell when."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_series):
        t = np.arange(n)
        promo = (rng.random(n) < 0.3).astype(float)
        rows.append(pd.DataFrame({"unique_id": f"s{i}", "ds": t, "y": 20 + i + 8 * promo + np.sin(t / 3),
                                  "promo": promo, "size": float(i), "temp": rng.normal(size=n)}))
    df = pd.concat(rows, ignore_index=True)
    return df[df.ds < n - H], df[df.ds >= n - H]


TINY = {"max_steps": 150, "lookbacks": (2.0,), "hidden": 16}


@pytest.fixture(scope="module")
def fitted():
    train, test = _panel()
    f = Forecaster(horizon=H, **TINY).fit(train, static=["size"], past=["temp"], future=["promo"])
    return f, train, test


def test_known_future_covariates_are_used(fitted):
    f, train, test = fitted
    fc = f.predict(future_df=test[["unique_id", "ds", "promo"]])
    with_cov = np.abs(fc["forecast"].to_numpy() - test["y"].to_numpy()).mean()
    plain = Forecaster(horizon=H, **TINY).fit(train[["unique_id", "ds", "y"]]).predict()
    without = np.abs(plain["forecast"].to_numpy() - test["y"].to_numpy()).mean()
    assert with_cov < without / 2, (with_cov, without)


def test_save_load_round_trip_with_covariates_is_exact(fitted, tmp_path):
    f, train, test = fitted
    f.save(tmp_path / "m")
    again = Forecaster.load(tmp_path / "m")
    fd = test[["unique_id", "ds", "promo"]]
    pd.testing.assert_frame_equal(again.predict(future_df=fd), f.predict(future_df=fd))
    pd.testing.assert_frame_equal(again.predict(train, future_df=fd), f.predict(future_df=fd))


@pytest.mark.parametrize("change, message", [
    (lambda fd: fd.assign(unique_id=fd["unique_id"].replace("s1", "nope")),
     "predict: future_df has id 'nope', which is not among the series being forecast"),
    (lambda fd: fd[fd["ds"] < 59],
     "predict: future_df has no row for series 's0' at ds 59 (it needs each series' next 6 steps of ['promo'])"),
    (lambda fd: fd.assign(promo=fd["promo"].where(fd["ds"] != 56)),
     "predict: future_df: column 'promo' row 2 (series 's0', ds 56) is nan; covariates must be finite numbers"),
    (lambda fd: fd.drop(columns="promo"), "predict: future_df has no column 'promo'"),
    (lambda fd: None, "predict: this Forecaster was fitted with future covariates ['promo']; pass future_df "
                      "with their values over the next 6 steps of every series"),
])
def test_bad_future_df_is_one_line(fitted, change, message):
    f, _, test = fitted
    with pytest.raises(DataError) as err:
        f.predict(future_df=change(test[["unique_id", "ds", "promo"]]))
    assert str(err.value) == message


def test_bad_covariate_columns_in_fit_are_one_line():
    train, _ = _panel(n_series=2, n=30)
    cases = [
        (dict(static=["temp"]), "fit: static column 'temp' varies within series 's0'; a static covariate has "
                                "one value per series"),
        (dict(past=["rain"]), "fit: past='rain' is not a column of df"),
        (dict(past=["temp"], future=["temp"]), "fit: static, past and future name each column once, never the "
                                               "id or time column (got ['temp', 'temp'])"),
    ]
    for kw, message in cases:
        with pytest.raises(DataError) as err:
            Forecaster(horizon=H, max_steps=1).fit(train, **kw)
        assert str(err.value) == message
    bad = train.assign(temp=train["temp"].where(train.index != 3))
    with pytest.raises(DataError, match=r"fit: column 'temp' row 3 \(series 's0', ds 3\) is nan"):
        Forecaster(horizon=H, max_steps=1).fit(bad, past=["temp"])


def test_future_df_without_future_covariates_is_refused():
    train, test = _panel(n_series=2, n=30)
    f = Forecaster(horizon=H, max_steps=2).fit(train[["unique_id", "ds", "y"]])
    with pytest.raises(DataError, match="fitted without future covariates"):
        f.predict(future_df=test)


def test_cross_validation_with_covariates_equals_separate_fits():
    train, test = _panel(n_series=2, n=40)
    df = pd.concat([train, test]).sort_values(["unique_id", "ds"])
    opts = {"max_steps": 3, "lookbacks": (2.0,), "hidden": 4}
    kw = {"static": ["size"], "past": ["temp"], "future": ["promo"]}
    cv = Forecaster(horizon=H, **opts).cross_validation(df, n_windows=2, step=H, refit=True, level=(80,), **kw)
    for i, back in enumerate((H, 0)):
        cut = df.groupby("unique_id").cumcount(ascending=False)
        hist, nxt = df[cut >= back + H], df[(cut >= back) & (cut < back + H)]
        alone = Forecaster(horizon=H, **opts).fit(hist, **kw).predict(hist, level=(80,), future_df=nxt)
        fold = cv[cv["cutoff"] == hist["ds"].max()]
        np.testing.assert_array_equal(fold["forecast"].to_numpy(), alone["forecast"].to_numpy())
        np.testing.assert_array_equal(fold["y"].to_numpy(), nxt["y"].to_numpy())
