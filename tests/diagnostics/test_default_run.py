"""The default ``rnnkit diagnose`` run shows the known pattern (slow: minutes on 2 cores).

Run with: python -m pytest -m slow tests/diagnostics/test_default_run.py
"""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.diagnostics.sweep import DiagnoseConfig, diagnose


@pytest.mark.slow
def test_elman_fails_the_adding_problem_at_long_T_while_lstm_and_gru_solve_it(tmp_path):
    summary, results = diagnose(DiagnoseConfig(), tmp_path)
    by = {(r.cell, r.T): r for r in results}
    for T in (100, 200):
        assert not by[("rnn", T)].solved and by[("rnn", T)].score > 0.5  # near the trivial 1.0
        for cell in ("lstm", "gru"):
            assert by[(cell, T)].solved and by[(cell, T)].score < 0.01
    # The Elman gradient decays over orders of magnitude, and faster the longer T is.
    decay = {T: by[("rnn", T)].norms_after[0] / by[("rnn", T)].norms_after[-1] for T in (50, 100, 200)}
    assert decay[100] < 1e-6 and decay[200] < decay[100] < decay[50]
    # The gated cells that solved it carry gradient across the whole sequence.
    for cell in ("lstm", "gru"):
        assert by[(cell, 100)].effective_span >= 90
    assert by[("rnn", 100)].effective_span < 20
    assert len(summary["results"]) == 16
    assert (tmp_path / "gradient_flow.png").stat().st_size > 30_000
    assert np.isfinite([r.score for r in results]).all()
