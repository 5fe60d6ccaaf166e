"""`Classifier.fit` under `torchrun --nproc-per-node 2`: data-parallel through the shared
trainer; every rank ends with the same fitted model (slow: it starts two processes)."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.training import distributed_helpers as dh

SCRIPT = """
import os, sys
import numpy as np
from tests.tasks.classify.test_estimator import ramps
from rnnkit import Classifier
X, y = ramps(40)
clf = Classifier(hidden_size=8, num_layers=1, min_steps=20, max_steps=20, batch_size=8, device="cpu").fit(X, y)
p = clf.predict_proba(X)
print(f"rank {os.environ['RANK']} steps {clf.n_steps_} score {clf.score(X, y):.3f} sum {p[:, 1].sum():.6f}")
"""


@pytest.mark.slow
def test_fit_under_torchrun_trains_the_same_model_on_every_rank(tmp_path):
    (tmp_path / "fit.py").write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(dh.REPO), str(dh.REPO / "src")]),
           "OMP_NUM_THREADS": "1"}
    cmd = [str(dh.TORCHRUN), "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
           "--master-port", str(dh.free_port()), str(tmp_path / "fit.py")]
    proc = subprocess.run(cmd, cwd=dh.REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = sorted(line for line in proc.stdout.splitlines() if line.startswith("rank "))
    assert [line.split()[1] for line in lines] == ["0", "1"]
    assert lines[0].split()[2:] == lines[1].split()[2:]  # same steps, score and probabilities
    assert lines[0].split()[2:4] == ["steps", "20"] and float(lines[0].split()[5]) >= 0.9
