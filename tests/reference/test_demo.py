"""The NumPy-only demos learn something non-trivial: they beat "repeat the last value"."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from rnnkit.reference.demo import run_demo, sine_batch

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "numpy_next_number.py"


def test_sine_batch_targets_are_the_next_values():
    x, target, w = sine_batch(np.random.default_rng(0), 3, 5)
    assert x.shape == target.shape == (5, 3, 1) and w.shape == (3,)
    np.testing.assert_array_equal(x[1:], target[:-1])


def test_sine_demo_learns_far_better_than_repeating_the_last_value():
    lines = []
    result = run_demo(steps=300, seed=0, log=lines.append)
    first, last = result.history[0][1], result.history[-1][1]
    assert last < first / 20
    assert result.test_mse < result.baseline_mse / 5
    assert abs(result.example["pred"] - result.example["truth"]) < 0.2
    assert lines[-1].startswith("prediction: after ...")


def test_next_number_example_runs_and_beats_the_naive_guess():
    out = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    mses = [float(v) for v in re.findall(r"step +\d+  MSE ([0-9.]+)", out)]
    assert mses[-1] < mses[0] / 5
    rmse, naive = map(float, re.search(
        r"held-out RMSE of the last prediction: ([0-9.]+) \(repeating the last number: ([0-9.]+)\)",
        out).groups())
    assert rmse < naive / 4
