"""Issue 18's bad panels through `rnnkit forecast train --group-col`: a one-line error (exit 2)
or a documented one-line warning, never a traceback. The Python API's side is in
tests/tasks/forecast/test_estimator.py and test_covariates.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app

runner = CliRunner()
TINY = ["--max-steps", "2", "--members", "1", "--set", "model.hidden_size=4", "--set", 'baselines=["naive"]',
        "--group-col", "id", "--time-col", "t", "--target", "y", "--horizon", "3", "--season", "4"]


def _panel(tmp_path, extra=(), drop_rows=(), edit=None):
    t = np.arange(24)
    rows = [pd.DataFrame({"id": name, "t": t, "y": 10 + k + np.sin(t)}) for k, name in enumerate(("a", "b"))]
    frame = pd.concat([*rows, *extra], ignore_index=True).drop(index=list(drop_rows))
    if edit is not None:
        frame = edit(frame)
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _run(tmp_path, path, *args):
    result = runner.invoke(app, ["forecast", "train", "--data", path, "--out", str(tmp_path / "run"), *TINY, *args])
    assert "Traceback" not in result.output
    return result


WARNED = [
    ("constant", [pd.DataFrame({"id": "flat", "t": np.arange(24), "y": 7.0})],
     "warning: 1 series are constant (first: 'flat' = 7.0); each is forecast as its constant"),
    ("zeros-and-negatives", [pd.DataFrame({"id": "neg", "t": np.arange(24), "y": np.arange(24) - 5.0})],
     "warning: some values are <= 0, so the log transform is off (transform='linear')"),
    ("three-points", [pd.DataFrame({"id": "tiny", "t": [0, 1, 2], "y": [1.0, 2.0, 3.0]})],
     "warning: 1 groups have fewer than 4 points (first: 'tiny' with 3); left out of this run: too short to "
     "hold out 3 points and train (rnnkit forecast predict still forecasts them)"),
]


@pytest.mark.parametrize("extra, line", [w[1:] for w in WARNED], ids=[w[0] for w in WARNED])
def test_documented_warnings_are_one_line_and_the_run_goes_on(tmp_path, extra, line):
    result = _run(tmp_path, _panel(tmp_path, extra))
    assert result.exit_code == 0, result.output
    assert line in result.stderr.splitlines()
    assert all(x.startswith("warning: ") for x in result.stderr.splitlines())
    frame = pd.read_csv(tmp_path / "run" / "forecast.csv")
    if extra[0]["id"].iloc[0] == "flat":
        assert (frame.loc[frame["id"] == "flat", "forecast"] == 7.0).all()


def test_a_short_series_is_forecast_by_predict(tmp_path):
    path = _panel(tmp_path, [pd.DataFrame({"id": "tiny", "t": [0, 1], "y": [5.0, 6.0]})])
    assert _run(tmp_path, path).exit_code == 0
    result = runner.invoke(app, ["forecast", "predict", "--model", str(tmp_path / "run"), "--data", path,
                                 "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(tmp_path / "p.csv")
    assert pred.groupby("id").size().to_dict() == {"a": 3, "b": 3, "tiny": 3}
    assert "warning: 1 series have fewer than 4 points (first: 'tiny' with 2)" in result.stderr


def test_nan_inside_a_panel_is_one_line(tmp_path):
    path = _panel(tmp_path, edit=lambda f: f.assign(y=f["y"].where(f.index != 30)))
    result = _run(tmp_path, path)
    assert result.exit_code == 2
    assert result.stderr == (f"error: {path}, column 'y': 1 missing value at row 32; pass --missing "
                             "interpolate or --missing ffill\n")


def test_duplicate_id_time_rows_are_one_line(tmp_path):
    path = _panel(tmp_path, edit=lambda f: pd.concat([f.iloc[:30], f.iloc[29:30], f.iloc[30:]]))  # b, t=5 twice
    result = _run(tmp_path, path)
    assert result.exit_code == 2
    assert result.stderr == (f"error: {path}, row 32, column 't': duplicate time '5' (also row 31); keep one "
                             "row per time or aggregate them\n")


def test_horizon_longer_than_every_series_is_one_line(tmp_path):
    path = _panel(tmp_path)
    result = _run(tmp_path, path, "--horizon", "30")
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}, group 'a' (the longest): --horizon 30 is longer than the data (24 points)\n"
