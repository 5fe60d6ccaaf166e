"""Launch ddp_worker.py under the real torchrun, bound to 127.0.0.1 (shared with tests/faults)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ddp_worker.py")
TORCHRUN = Path(sys.executable).with_name("torchrun")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(nproc: int, *worker_args: str, max_restarts: int = 0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")]),
           "OMP_NUM_THREADS": "1"}
    cmd = [str(TORCHRUN), "--nnodes", "1", "--nproc-per-node", str(nproc),
           "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
           "--max-restarts", str(max_restarts), "--monitor-interval", "0.2",
           str(WORKER), *worker_args]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(proc: subprocess.Popen, timeout: float = 240) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"torchrun timed out: {out.decode()[-3000:]}")
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    return text


def weights(folder: Path, rank: int = 0) -> dict[str, torch.Tensor]:
    return load_file(str(folder / f"rank{rank}.safetensors"))


def max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)
