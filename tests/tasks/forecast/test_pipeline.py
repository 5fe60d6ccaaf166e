"""train_forecaster / predict / backtest (the CLI's functions over Forecaster) end to end, on tiny budgets."""

from __future__ import annotations

import json
import struct

import numpy as np
import pandas as pd
import pytest

from rnnkit.datasets import dataset_path
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.tasks.forecast.pipeline import backtest, predict, train_forecaster
from rnnkit.tasks.forecast.config import load_forecast_config
from rnnkit.tasks.forecast.report import PNG_SIZE

TINY = [
    "model.members=1",
    "model.hidden_size=8",
    "train.max_steps=6",
    'baselines=["naive", "seasonal_naive", "drift"]',
]
AIRLINE = dataset_path("forecasting", "airline_passengers.csv")


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def airline_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("airline")
    metrics = train_forecaster(load_forecast_config(overrides=TINY), out, log=lambda s: None)
    return out, metrics


def test_train_writes_the_run_folder(airline_run):
    out, metrics = airline_run
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(metrics))
    assert set(saved["model"]) == {"mae", "rmse", "mape", "smape", "mase", "coverage"}
    assert {"naive", "seasonal_naive", "drift"} <= set(saved["baselines"])
    assert saved["horizon"] == 12 and saved["season"] == 12
    assert saved["test_start"] == "1960-01-01 00:00:00"
    frame = pd.read_csv(out / "forecast.csv")
    assert list(frame.columns) == ["time", "actual", "forecast", "lower", "upper"]
    assert len(frame) == 12 and frame["time"].iloc[0] == "1960-01-01"
    assert (frame["lower"] <= frame["forecast"]).all() and (
        frame["forecast"] <= frame["upper"]
    ).all()
    truth = pd.read_csv(AIRLINE)["Passengers"].to_numpy()[-12:]
    assert frame["actual"].tolist() == truth.tolist()
    covered = np.mean((truth >= frame["lower"]) & (truth <= frame["upper"]))
    assert saved["model"]["coverage"] == pytest.approx(covered)
    assert png_size(out / "forecast.png") == PNG_SIZE
    assert {p.name for p in (out / "model").iterdir()} >= {"model.safetensors", "forecaster.json", "run.json"}


def test_predict_reproduces_train_exactly(airline_run, tmp_path):
    out, _ = airline_run
    history = tmp_path / "history.csv"
    pd.read_csv(AIRLINE).iloc[:-12].to_csv(history, index=False)
    result = predict(out / "model", history, tmp_path / "pred.csv")
    trained = pd.read_csv(out / "forecast.csv", float_precision="round_trip")
    again = pd.read_csv(tmp_path / "pred.csv", float_precision="round_trip")
    assert list(again.columns) == ["time", "forecast", "lower", "upper"]
    assert again["time"].tolist() == trained["time"].tolist()
    for col in ("forecast", "lower", "upper"):
        assert np.array_equal(again[col].to_numpy(), trained[col].to_numpy()), col
        assert np.array_equal(result[col].to_numpy(), trained[col].to_numpy()), col


def test_predict_errors_and_new_series(airline_run, tmp_path):
    out, _ = airline_run
    with pytest.raises(CheckpointError, match="run.json is missing"):
        predict(tmp_path, AIRLINE)
    short = tmp_path / "short.csv"
    pd.read_csv(AIRLINE).iloc[:10].to_csv(short, index=False)
    pred = predict(out / "model", short)  # a global model forecasts from any history, even 10 points
    assert len(pred) == 12 and str(pred["time"].iloc[0]) == "1949-11-01 00:00:00"
    assert np.isfinite(pred["forecast"]).all()
    bundled = predict(out / "model", "airline")  # bundled names, as train takes them
    assert str(bundled["time"].iloc[0]) == "1961-01-01 00:00:00"


def _shops(tmp_path, n=60):
    t = np.arange(n)
    rows = []
    for g, amp in (("north", 1.0), ("south", 2.0)):
        for i in t:
            rows.append({"shop": g, "day": str(pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(i)))[:10],
                         "sales": 10 + amp * np.sin(2 * np.pi * i / 7) + 0.1 * i, "promo": i % 2,
                         "area": 100 if g == "north" else 250})
    path = tmp_path / "shops.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_groups_with_static_and_past_covariates(tmp_path):
    path = _shops(tmp_path)
    cfg = load_forecast_config(overrides=TINY + [
        f'data.data="{path}"', 'data.target=["sales"]', 'data.time_col="day"', 'data.group_col="shop"',
        'data.past_covariates=["promo"]', 'data.static_covariates=["area"]', "data.horizon=5"])
    metrics = train_forecaster(cfg, tmp_path / "run", log=lambda s: None)
    assert metrics["season"] == 7 and metrics["series"] == ["north", "south"]
    frame = pd.read_csv(tmp_path / "run" / "forecast.csv")
    assert list(frame.columns) == ["shop", "time", "actual", "forecast", "lower", "upper"]
    assert frame["shop"].tolist() == ["north"] * 5 + ["south"] * 5
    pred = predict(tmp_path / "run" / "model", path)
    assert pred["shop"].tolist() == ["north"] * 5 + ["south"] * 5
    assert pred["time"].iloc[0] == pd.Timestamp("2021-03-02")


def test_test_size_longer_than_horizon_forecasts_in_blocks(tmp_path):
    cfg = load_forecast_config(overrides=TINY + ["data.test_size=30", 'data.data="sunspots"'])
    metrics = train_forecaster(cfg, tmp_path, log=lambda s: None)
    frame = pd.read_csv(tmp_path / "forecast.csv")
    assert len(frame) == 30 and metrics["test_start"] == "1979" and metrics["horizon"] == 20


def test_backtest_rolls_the_origin(tmp_path):
    cfg = load_forecast_config(overrides=TINY)
    report = backtest(cfg, tmp_path, folds=2, step=6, log=lambda s: None)
    assert [f["origin"] for f in report["folds"]] == ["1959-07-01 00:00:00", "1960-01-01 00:00:00"]
    folds = pd.read_csv(tmp_path / "backtest.csv")
    assert folds.groupby("fold").size().tolist() == [12, 12]
    assert set(report["mean"]["baselines"]) >= {"naive", "seasonal_naive"}
    saved = json.loads((tmp_path / "backtest.json").read_text())
    assert saved["mean"]["model"]["mase"] == pytest.approx(
        np.mean([f["model"]["mase"] for f in report["folds"]])
    )


def test_future_covariates_round_trip_and_need_the_rows_ahead(tmp_path):
    i = np.arange(80)
    promo = (i % 5 == 0).astype(int)
    frame = pd.DataFrame({"step": i, "sales": 20 + 5 * promo + (i % 4), "promo": promo})
    path = tmp_path / "promo.csv"
    frame.to_csv(path, index=False)
    cfg = load_forecast_config(
        overrides=TINY
        + [
            f'data.data="{path}"',
            'data.target=["sales"]',
            'data.time_col="step"',
            'data.future_covariates=["promo"]',
            "data.horizon=6",
            "data.season=4",
        ]
    )
    train_forecaster(cfg, tmp_path / "run", log=lambda s: None)
    trained = pd.read_csv(tmp_path / "run" / "forecast.csv", float_precision="round_trip")
    # History plus the 6 known-future rows with the target left empty.
    ahead = frame.copy().astype({"sales": "object"})
    ahead.loc[74:, "sales"] = ""
    ahead_path = tmp_path / "ahead.csv"
    ahead.to_csv(ahead_path, index=False)
    pred = predict(tmp_path / "run" / "model", ahead_path)
    assert pred["time"].tolist() == list(range(74, 80))
    assert np.array_equal(pred["forecast"].to_numpy(), trained["forecast"].to_numpy())
    history_only = tmp_path / "hist.csv"
    frame.iloc[:74].to_csv(history_only, index=False)
    with pytest.raises(DataError) as err:
        predict(tmp_path / "run" / "model", history_only)
    assert str(err.value) == (
        f"{history_only}: --future-covariate promo needs the 6 rows after the history "
        "(targets empty), found 0"
    )


def test_backtest_passes_future_covariates_to_each_fold(tmp_path):
    i = np.arange(60)
    promo = (i % 5 == 0).astype(int)
    path = tmp_path / "promo.csv"
    pd.DataFrame({"step": i, "sales": 20 + 5 * promo + (i % 4), "promo": promo}).to_csv(path, index=False)
    cfg = load_forecast_config(overrides=TINY + [
        f'data.data="{path}"', 'data.target=["sales"]', 'data.time_col="step"',
        'data.future_covariates=["promo"]', "data.horizon=6", "data.season=4"])
    report = backtest(cfg, tmp_path / "bt", folds=2, log=lambda s: None)
    assert [f["origin"] for f in report["folds"]] == ["48", "54"]
    assert len(pd.read_csv(tmp_path / "bt" / "backtest.csv")) == 12


def test_the_metrics_table_keeps_errors_in_tiny_units_readable():
    from rnnkit.tasks.forecast.report import format_table

    m = {"mae": 2.5e-21, "rmse": 3.25e-21, "mape": 2.246, "smape": 2.276, "mase": 0.65, "coverage": 1.0}
    table = format_table({"model": m, "baselines": {"naive": dict(m, mae=0.0, coverage=None)}})
    model, naive = table.splitlines()[1:]
    assert model.split() == ["model", "2.5e-21", "3.25e-21", "2.246", "2.276", "0.650", "1.000"]
    assert naive.split()[1] == "0.000" and naive.split()[-1] == "-"


def test_the_commands_progress_setting_is_the_forecasters_verbose():
    assert load_forecast_config().forecaster_options()["verbose"] is True  # a bar per member, on a terminal
    assert "verbose" not in load_forecast_config(overrides=["train.progress=false"]).forecaster_options()


def test_the_members_cell_and_weight_decay_are_config_keys():
    opts = load_forecast_config(overrides=["model.cell=lstm", "train.weight_decay=0.1"]).forecaster_options()
    assert opts["cell"] == "lstm" and opts["weight_decay"] == 0.1
    assert not {"cell", "weight_decay"} & set(load_forecast_config().forecaster_options())  # the Forecaster's defaults
    with pytest.raises(ConfigError, match="train.weight_decay must be >= 0"):
        load_forecast_config(overrides=["train.weight_decay=-1"])
    with pytest.raises(ConfigError, match="model.cell"):
        load_forecast_config(overrides=["model.cell=rnn"])


def test_seasonal_ets_is_a_config_key():
    assert load_forecast_config(overrides=["model.seasonal_ets=true"]).forecaster_options()["seasonal_ets"] is True
    assert "seasonal_ets" not in load_forecast_config().forecaster_options()
    with pytest.raises(ConfigError, match="model.seasonal_ets"):
        load_forecast_config(overrides=["model.seasonal_ets=3"])
