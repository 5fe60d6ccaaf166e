"""docs/forecaster.md's example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

DOC = Path(__file__).resolve().parents[3] / "docs" / "forecaster.md"


def test_the_example_in_docs_forecaster_md_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(blocks[0], str(DOC), "exec"), ns)
    assert list(ns["fc"].columns) == ["unique_id", "ds", "forecast", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert ns["new"]["unique_id"].unique().tolist() == ["other"]
    pd.testing.assert_frame_equal(ns["fc"], ns["same"])
    assert sorted(ns["cv"]["cutoff"].unique()) == [41, 47]
    assert np.isfinite(ns["cv"]["forecast"]).all()
