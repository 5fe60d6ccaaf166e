"""Exact resume after a real SIGKILL in the middle of an epoch (dropout and shuffling on)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnkit.training import checkpoint as ckpt
from tests.training import resume_helper

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return ckpt.read_safetensors(run_dir / "checkpoints" / "last" / ckpt.WEIGHTS)


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    # The interrupted run: a real process, killed during epoch 3 (after its 2nd batch).
    killed = tmp_path / "killed"
    marker = tmp_path / "paused"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])}
    proc = subprocess.Popen(
        [sys.executable, str(Path(resume_helper.__file__)), str(killed),
         "--pause-epoch", "3", "--pause-batch", "2", "--marker", str(marker)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"helper exited early: {proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail("helper never reached epoch 3")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    # The latest complete checkpoint (end of epoch 2) survived; nothing temporary is left.
    state = ckpt.load_state(killed / "checkpoints" / "last")
    assert state["epoch"] == 2
    assert state["step"] == 8  # 32 samples / batch 8 = 4 steps per epoch
    assert [p.name for p in killed.rglob("*") if p.name.startswith(".tmp")] == []
    assert all(torch.isfinite(t).all() for t in _weights(killed).values())

    # Resume it, and run the same training uninterrupted.
    resume_helper.main([str(killed), "--resume"])
    straight = tmp_path / "straight"
    resume_helper.main([str(straight)])

    resumed_w, straight_w = _weights(killed), _weights(straight)
    assert resumed_w.keys() == straight_w.keys()
    for name in straight_w:
        assert torch.equal(resumed_w[name], straight_w[name]), name
    # The per-epoch metrics agree too (wall-clock seconds aside).
    keys = ("epoch", "step", "train_loss", "val_loss", "lr", "grad_norm", "grad_norm_max")
    rows = [
        [[r[k] for k in keys] for r in json.loads(ckpt.load_state(d / "checkpoints" / "last")["history"])]
        for d in (killed, straight)
    ]
    assert len(rows[0]) == resume_helper.EPOCHS
    assert rows[0] == rows[1]
