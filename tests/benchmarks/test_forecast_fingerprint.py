"""benchmarks/forecast_fingerprint.py: the same code gives the same fingerprints; a change is named."""
from __future__ import annotations

import numpy as np

from tests.benchmarks.helpers import load_benchmark


def test_same_code_same_fingerprints_and_a_difference_is_named(tmp_path, capsys):
    fp = load_benchmark("forecast_fingerprint")
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert fp.main(["--out", str(a), "--cases", "zeros"]) == 0
    assert fp.main(["--out", str(b), "--cases", "zeros"]) == 0
    assert fp.main(["--compare", str(a), str(b)]) == 0
    assert "3 of 3 arrays bit-identical" in capsys.readouterr().out
    changed = dict(np.load(b))
    changed["zeros/forecast"] = changed["zeros/forecast"] + 1e-12
    np.savez(b, **changed)
    assert fp.main(["--compare", str(a), str(b)]) == 1
    assert "differs: zeros/forecast" in capsys.readouterr().out
