"""Kill a rank: torchrun --max-restarts=1 restarts the job from the last checkpoint and
it ends with the weights of an uninterrupted 2-process run (bit for bit, on CPU)."""
from __future__ import annotations

import csv

import pytest
import torch

from rnnkit.training import checkpoint as ckpt
from tests.training import distributed_helpers as dh

pytestmark = [pytest.mark.kill, pytest.mark.slow]


def test_rank_killed_mid_epoch_restarts_and_matches_uninterrupted(tmp_path):
    # 32 sequences, global batch 8: 4 steps per epoch. Rank 1 SIGKILLs itself after step 6
    # (batch 2 of epoch 2) in the first attempt; the restart resumes from epoch 1's checkpoint.
    straight = dh.torchrun(2, str(tmp_path / "straight"), "--epochs", "3", "--run-dir", str(tmp_path / "a"))
    killed = dh.torchrun(2, str(tmp_path / "killed"), "--epochs", "3", "--run-dir", str(tmp_path / "b"),
                         "--kill-at-step", "6", "--kill-rank", "1", max_restarts=1)
    dh.finish(straight)
    log = dh.finish(killed)
    assert "exitcode: -9" in log and "local_rank: 1" in log  # the kill really happened
    for rank in (0, 1):  # attempt 0 began at step 1; attempt 1 resumed after epoch 1 (step 4)
        lines = (tmp_path / "killed" / f"first-steps-rank{rank}.txt").read_text().split("\n")
        assert lines[:2] == ["0 1", "1 5"], lines

    want = dh.weights(tmp_path / "straight", 0)
    for rank in (0, 1):
        got = dh.weights(tmp_path / "killed", rank)
        assert all(torch.equal(got[k], want[k]) for k in want), rank
    assert dh.max_diff(want, ckpt.read_safetensors(tmp_path / "b" / "checkpoints" / "last" / ckpt.WEIGHTS)) == 0

    # Only rank 0 wrote the run folder: one metrics row per epoch, no per-rank leftovers.
    for run in (tmp_path / "a", tmp_path / "b"):
        rows = list(csv.DictReader((run / "metrics.csv").open()))
        assert [r["epoch"] for r in rows] == ["1", "2", "3"]
        assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "config.json", "loss.png",
                                                         "metrics.csv"]
        assert ckpt.load_state(run / "checkpoints" / "last")["step"] == 12
