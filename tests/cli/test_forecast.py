"""`rnnkit forecast train | predict | backtest` through typer's CliRunner, on tiny budgets."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.datasets import dataset_path

runner = CliRunner()
TINY = [
    "--members",
    "1",
    "--epochs",
    "2",
    "--max-steps",
    "4",
    "--set",
    "model.hidden_size=8",
    "--set",
    'baselines=["naive", "seasonal_naive", "drift"]',
]


def test_train_default_series_prints_the_table_and_predict_reloads(tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["forecast", "train", "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "airline_passengers.csv: horizon 12, season 12, test from 1960-01-01"
    )
    assert lines[1].split() == ["MAE", "RMSE", "MAPE%", "sMAPE%", "MASE", "coverage"]
    assert [line.split()[0] for line in lines[2:6]] == ["model", "naive", "seasonal_naive", "drift"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"{metrics['baselines']['seasonal_naive']['mase']:.3f}" == "1.571"  # the figure
    pred = tmp_path / "pred.csv"
    result = runner.invoke(
        app,
        [
            "forecast",
            "predict",
            "--model",
            str(out / "model"),
            "--data",
            str(dataset_path("forecasting", "airline_passengers.csv")),
            "--out",
            str(pred),
        ],
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(pred)
    assert frame["time"].tolist()[0] == "1961-01-01" and len(frame) == 12


def test_no_interval_drops_the_bands(tmp_path):
    result = runner.invoke(
        app,
        [
            "forecast",
            "train",
            "--data",
            "sunspots",
            "--interval",
            "0",
            "--out",
            str(tmp_path),
            *TINY,
        ],
    )
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(tmp_path / "forecast.csv").columns) == ["time", "actual", "forecast"]
    assert json.loads((tmp_path / "metrics.json").read_text())["model"]["coverage"] is None


def test_co2_missing_policies(tmp_path):
    co2 = str(dataset_path("forecasting", "co2_weekly.csv"))
    base = [
        "forecast",
        "train",
        "--data",
        co2,
        "--time-col",
        "week",
        "--target",
        "co2",
        "--horizon",
        "52",
    ]
    result = runner.invoke(app, [*base, "--out", str(tmp_path / "e"), *TINY])
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: {co2}, column 'co2': 59 missing values at rows 8, 11, 12"
    )
    for policy in ("interpolate", "ffill"):
        result = runner.invoke(
            app, [*base, "--missing", policy, "--out", str(tmp_path / policy), *TINY]
        )
        assert result.exit_code == 0, result.output
        metrics = json.loads((tmp_path / policy / "metrics.json").read_text())
        assert metrics["season"] == 52 and metrics["test_start"] == "2001-01-06 00:00:00"
    # The bundled name applies interpolate by default, as the benchmark does.
    result = runner.invoke(
        app, ["forecast", "train", "--data", "co2", "--out", str(tmp_path / "b"), *TINY]
    )
    assert result.exit_code == 0, result.output
    # ... but an explicit --missing error is the user's choice and is kept.
    result = runner.invoke(
        app,
        ["forecast", "train", "--data", "co2", "--missing", "error",
         "--out", str(tmp_path / "x"), *TINY],
    )
    assert result.exit_code == 2
    assert "59 missing values at rows 8, 11, 12" in result.stderr


def test_backtest_prints_a_summary(tmp_path):
    result = runner.invoke(
        app,
        [
            "forecast",
            "backtest",
            "--folds",
            "2",
            "--out",
            str(tmp_path),
            "--epochs",
            "1",
            "--set",
            "model.members=1",
            "--set",
            "train.max_steps=2",
            "--set",
            'baselines=["naive"]',
        ],
    )
    assert result.exit_code == 0, result.output
    assert "mean over 2 folds (horizon 12, step 12, refit False)" in result.stdout
    assert (tmp_path / "backtest.json").is_file()


def test_backtest_writes_every_fold_and_a_plot(tmp_path):
    result = runner.invoke(app, ["forecast", "backtest", "--folds", "3", "--step", "6", "--out", str(tmp_path),
                                 "--max-steps", "2", "--set", "model.hidden_size=4", "--set", 'baselines=["naive"]'])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "backtest.csv")
    assert list(frame.columns) == ["fold", "cutoff", "time", "actual", "forecast", "lower", "upper"]
    assert frame.groupby("fold").size().tolist() == [12, 12, 12]
    # fold k's test window ends (3 - 1 - k) * 6 points before the end of the 144 months
    assert frame.groupby("fold")["time"].last().tolist() == ["1959-12-01", "1960-06-01", "1960-12-01"]
    assert frame.groupby("fold")["cutoff"].first().tolist() == ["1958-12-01", "1959-06-01", "1959-12-01"]
    report = json.loads((tmp_path / "backtest.json").read_text())
    assert [f["origin"] for f in report["folds"]] == ["1959-01-01 00:00:00", "1959-07-01 00:00:00",
                                                        "1960-01-01 00:00:00"]
    assert (tmp_path / "backtest.png").stat().st_size > 0


def test_backtest_resume_reuses_the_fitted_folds_and_ends_as_an_uninterrupted_one(tmp_path, monkeypatch):
    """`forecast backtest --resume DIR`: a backtest killed while fitting fold 1 keeps fold 0's
    saved model (DIR/run_fold0/model); continued, it fits only fold 1 and ends where an
    uninterrupted backtest ends."""
    from rnnkit.tasks.forecast.estimator import Forecaster

    small = ["--folds", "2", "--refit", "--max-steps", "3", "--set", "model.members=1",
             "--set", "model.hidden_size=8", "--set", 'baselines=["naive"]']
    full, part = tmp_path / "full", tmp_path / "part"
    result = runner.invoke(app, ["forecast", "backtest", "--out", str(full), *small])
    assert result.exit_code == 0, result.output

    original, calls = Forecaster.fit, []

    def killed_in_fold_1(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Forecaster, "fit", killed_in_fold_1)
    result = runner.invoke(app, ["forecast", "backtest", "--out", str(part), *small])
    assert result.exit_code == 130 and not (part / "backtest.json").exists()
    assert f"--resume {part}" in result.output and "run_fold0" in result.output
    calls.clear()
    result = runner.invoke(app, ["forecast", "backtest", "--resume", str(part), "--folds", "2", "--refit"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1  # fold 0 reloaded, fold 1 fitted
    a = json.loads((full / "backtest.json").read_text())
    b = json.loads((part / "backtest.json").read_text())
    assert [f["model"] for f in a["folds"]] == [f["model"] for f in b["folds"]]


def test_unknown_bundled_series_and_missing_horizon(tmp_path):
    result = runner.invoke(app, ["forecast", "train", "--data", "tides", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --data 'tides' is neither a file nor a bundled series "
        "(one of airline, sunspots, elec_equip, co2)\n"
    )
    csv = tmp_path / "x.csv"
    csv.write_text("t,y\n1,2\n2,3\n")
    result = runner.invoke(app, ["forecast", "train", "--data", str(csv), "--out", str(tmp_path)])
    assert (
        result.exit_code == 2 and result.stderr == "error: --horizon is required with --data FILE\n"
    )


def test_resume_reuses_the_saved_model_and_ends_as_an_uninterrupted_run(tmp_path, monkeypatch):
    """A run interrupted after its Forecaster was saved (here: while forecasting) and continued
    with `forecast train --resume DIR` (config from DIR/config.json, as for every task) reloads
    the model instead of fitting again and ends where an uninterrupted run ends."""
    import rnnkit.tasks.forecast.pipeline as pipeline
    from rnnkit.tasks.forecast.estimator import Forecaster

    small = ["--members", "1", "--max-steps", "5", "--set", "model.hidden_size=8", "--set", 'baselines=["naive"]']
    full, part = tmp_path / "full", tmp_path / "part"
    result = runner.invoke(app, ["forecast", "train", "--out", str(full), *small])
    assert result.exit_code == 0, result.output

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_predict", interrupted)
    result = runner.invoke(app, ["forecast", "train", "--out", str(part), *small])
    assert result.exit_code == 130 and not (part / "metrics.json").exists()
    assert (part / "model" / "forecaster.json").is_file()
    monkeypatch.undo()

    def no_fit(self, *args, **kwargs):
        raise AssertionError("resume fitted again")

    monkeypatch.setattr(Forecaster, "fit", no_fit)
    result = runner.invoke(app, ["forecast", "train", "--resume", str(part)])
    assert result.exit_code == 0, result.output
    a = json.loads((full / "metrics.json").read_text())
    b = json.loads((part / "metrics.json").read_text())
    assert b["steps"] == a["steps"] == 5
    assert b["model"] == a["model"]  # bit-identical on the CPU


def test_resume_without_a_run_is_one_line(tmp_path):
    result = runner.invoke(app, ["forecast", "train", "--resume", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "--resume" in result.output and "does not exist" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_max_steps_is_honoured_exactly_on_a_long_series(tmp_path):
    """Issue 15 fault 9: --max-steps 5 ran a whole epoch (31,247 steps on 1M rows): the
    epoch count was capped, not the steps. The Forecaster's budget is steps: exactly 5."""
    csv_path = tmp_path / "long.csv"
    n = 1500
    pd.DataFrame({"t": range(n), "y": [float(i % 7) for i in range(n)]}).to_csv(csv_path, index=False)
    out = tmp_path / "run"
    result = runner.invoke(app, [
        "forecast", "train", "--data", str(csv_path), "--time-col", "t", "--horizon", "3",
        "--season", "7", "--members", "1", "--max-steps", "5", "--out", str(out),
        "--set", "model.hidden_size=4", "--set", 'baselines=["naive"]', "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "metrics.json").read_text())["steps"] == 5
    assert json.loads((out / "config.json").read_text())["train"]["max_steps"] == 5
