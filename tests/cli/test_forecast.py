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


def test_backtest_resume_continues_the_folds_exactly(tmp_path, monkeypatch):
    """`forecast backtest --resume DIR` (issue 14: every train and backtest command resumes the
    same way): a backtest killed inside fold 1 and continued ends where an uninterrupted one
    ends; fold 0 reloads its finished checkpoint, fold 1 goes on from its last one."""
    from rnnkit.training.trainer import Trainer

    small = ["--folds", "2", "--refit", "--epochs", "3", "--set", "model.members=1",
             "--set", "model.hidden_size=8", "--set", 'baselines=["naive"]',
             "--set", "train.checkpoint=true"]
    full, part = tmp_path / "full", tmp_path / "part"
    result = runner.invoke(app, ["forecast", "backtest", "--out", str(full), *small])
    assert result.exit_code == 0, result.output

    original = Trainer._run_epoch

    def killed_in_fold_1(self, epoch, *args):
        row = original(self, epoch, *args)
        if self.run_dir.name == "run_fold1" and epoch == 2:
            raise KeyboardInterrupt
        return row

    monkeypatch.setattr(Trainer, "_run_epoch", killed_in_fold_1)
    result = runner.invoke(app, ["forecast", "backtest", "--out", str(part), *small])
    assert result.exit_code == 130 and not (part / "backtest.json").exists()
    assert f"--resume {part}" in result.output
    monkeypatch.setattr(Trainer, "_run_epoch", original)
    result = runner.invoke(app, ["forecast", "backtest", "--resume", str(part), "--folds", "2",
                                 "--refit"])
    assert result.exit_code == 0, result.output
    a = json.loads((full / "backtest.json").read_text())
    b = json.loads((part / "backtest.json").read_text())
    assert [f["model"] for f in a["folds"]] == [f["model"] for f in b["folds"]]


def test_backtest_resume_without_checkpoints_says_how_to_get_them(tmp_path):
    out = tmp_path / "bt"
    result = runner.invoke(app, ["forecast", "backtest", "--folds", "2", "--out", str(out),
                                 "--epochs", "1", "--set", "model.members=1",
                                 "--set", "train.max_steps=2", "--set", 'baselines=["naive"]'])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["forecast", "backtest", "--resume", str(out)])
    assert result.exit_code == 2
    assert "train.checkpoint=true" in result.output and len(result.output.strip().splitlines()) == 1


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


def test_resume_continues_the_run_exactly(tmp_path, monkeypatch):
    """A run killed after epoch 2 of 4 and continued with `forecast train --resume DIR`
    (config from DIR/config.json, as for every task) ends where an uninterrupted run ends."""
    from rnnkit.training.trainer import Trainer

    small = ["--members", "1", "--max-steps", "1000", "--epochs", "4", "--set", "model.hidden_size=8",
             "--set", 'baselines=["naive"]', "--set", "train.checkpoint=true"]
    full, part = tmp_path / "full", tmp_path / "part"
    result = runner.invoke(app, ["forecast", "train", "--out", str(full), *small])
    assert result.exit_code == 0, result.output

    original = Trainer._run_epoch

    def killed_after_two(self, epoch, *args):
        row = original(self, epoch, *args)  # the epoch's checkpoint is written inside
        if epoch == 2:
            raise KeyboardInterrupt
        return row

    monkeypatch.setattr(Trainer, "_run_epoch", killed_after_two)
    result = runner.invoke(app, ["forecast", "train", "--out", str(part), *small])
    assert result.exit_code != 0 and not (part / "metrics.json").exists()
    monkeypatch.setattr(Trainer, "_run_epoch", original)
    result = runner.invoke(app, ["forecast", "train", "--resume", str(part)])
    assert result.exit_code == 0, result.output
    a = json.loads((full / "metrics.json").read_text())
    b = json.loads((part / "metrics.json").read_text())
    assert b["epochs"] == a["epochs"] == 4
    assert b["model"] == a["model"]  # bit-identical on the CPU


def test_resume_without_a_run_is_one_line(tmp_path):
    result = runner.invoke(app, ["forecast", "train", "--resume", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "--resume" in result.output and "does not exist" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_resume_of_a_run_without_checkpoints_says_how_to_get_them(tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["forecast", "train", "--out", str(out), *TINY]).exit_code == 0
    result = runner.invoke(app, ["forecast", "train", "--resume", str(out)])
    assert result.exit_code != 0
    assert "train.checkpoint=true" in result.output and len(result.output.strip().splitlines()) == 1


def test_max_steps_is_honoured_exactly_on_a_long_series(tmp_path):
    """Issue 15 fault 9: --max-steps 5 ran a whole epoch (31,247 steps on 1M rows): the
    epoch count was capped, not the steps. 1,500 rows are ~45 batches an epoch."""
    csv_path = tmp_path / "long.csv"
    n = 1500
    pd.DataFrame({"t": range(n), "y": [float(i % 7) for i in range(n)]}).to_csv(csv_path, index=False)
    out = tmp_path / "run"
    result = runner.invoke(app, [
        "forecast", "train", "--data", str(csv_path), "--time-col", "t", "--horizon", "3",
        "--season", "7", "--members", "1", "--max-steps", "5", "--out", str(out),
        "--set", "model.hidden_size=4", "--set", 'baselines=["naive"]', "--threads", "1"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out / "metrics.csv")
    assert rows["step"].tolist() == [5]
    assert json.loads((out / "config.json").read_text())["train"]["max_steps"] == 5
