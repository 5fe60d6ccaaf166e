"""Faults 6 and 10 (config part) of issue 15: inputs that used to print a traceback or
train on absurd numbers give one line and exit 2."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app
from tests.export import helpers as h

runner = CliRunner()


def _train(*args):
    return runner.invoke(app, ["forecast", "train", "--members", "1", "--epochs", "1", "--max-steps", "1", *args])


@pytest.mark.parametrize("header, rows, horizon, message", [
    ("time", "2020-01-01,1\n", "1",
     "{csv}, column 'time': cannot infer a regular frequency from the timestamps; "
     "pass --freq (e.g. D, W-SAT, MS, YS) or fix the irregular rows"),
    ("time", "2020-01-01T00:00:00Z,1\n2020-01-02T00:00:00+00:00,2\n2020-01-03T00:00:00+05:00,3\n"
             "2020-01-04T00:00:00Z,4\n", "1",
     "{csv}, row 4, column 'time': '2020-01-03T00:00:00+05:00' is in another time zone than row 2's "
     "'2020-01-01T00:00:00Z'; use one time zone (or none) for the whole column"),
    ("t", "".join(f"{i},{1e308 if i == 7 else i % 5}\n" for i in range(40)), "4",
     "{csv}, row 9, column 'y': '1e+308' is too large for the model's float32 (|value| <= 3.403e+38)"),
], ids=["one-row", "mixed-time-zones", "beyond-float32"])
def test_a_csv_the_forecaster_cannot_use_is_one_line_naming_the_row(tmp_path, header, rows, horizon, message):
    csv = tmp_path / "bad.csv"
    csv.write_text(f"{header},y\n{rows}")
    result = _train("--data", str(csv), "--time-col", header, "--horizon", horizon, "--out", str(tmp_path / "r"))
    assert result.exit_code == 2, result.output
    assert result.stderr == "error: " + message.format(csv=csv) + "\n"


@pytest.mark.parametrize("value, message", [
    ("nan", "train.lr must be a finite number, got nan"),
    ("inf", "train.lr must be a finite number, got inf"),
    ("1e30", "train.lr must be <= 10.0, got 1e+30"),
])
def test_non_finite_or_absurd_learning_rate_is_refused(tmp_path, value, message):
    result = _train("--set", f"train.lr={value}", "--out", str(tmp_path / "r"))
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert not (tmp_path / "r").exists()


def test_prime_with_undecodable_bytes_is_one_line(tmp_path):
    model = h.charlm_dir(tmp_path / "lm")
    result = runner.invoke(app, ["text", "generate", "--model", str(model), "--prime", "ab\udcff", "--length", "3"])
    assert result.exit_code == 2, result.output
    assert result.stderr == "error: --prime: byte 0xff at position 2 is not UTF-8 text\n"


def _strict(text):
    def refuse(token):
        raise AssertionError(f"{token} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_metrics_json_is_strict_json_when_a_metric_overflows(tmp_path, monkeypatch):
    import rnnkit.tasks.forecast.pipeline as fc

    real = fc.forecast_metrics

    def overflowing(*args, **kwargs):  # as an overflowing model (lr 1e30, values 1e308) used to give
        return {**real(*args, **kwargs), "mae": float("inf"), "rmse": float("nan")}

    monkeypatch.setattr(fc, "forecast_metrics", overflowing)
    csv = tmp_path / "small.csv"
    csv.write_text("t,y\n" + "".join(f"{i},{i % 7 + i / 10}\n" for i in range(40)))
    out = tmp_path / "r"
    result = _train("--data", str(csv), "--time-col", "t", "--horizon", "4", "--out", str(out),
                    "--set", "model.hidden_size=4", "--set", 'baselines=["naive"]')
    assert result.exit_code == 0, result.output
    metrics = _strict((out / "metrics.json").read_text())
    assert metrics["model"]["mae"] is None and metrics["model"]["rmse"] is None
    assert metrics["model"]["mape"] > 0
