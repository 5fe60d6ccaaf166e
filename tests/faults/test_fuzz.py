"""The fuzz harness (tests/faults/fuzz.py) against the contract: a result that passes the
reader's invariants, or a one-line RnnkitError; never another exception, a hang, or
memory past the bound. A handful of cases per target run by default; the slow suite
runs ``SLOW_CASES`` per target.

    pytest tests/faults/test_fuzz.py -m slow      # the long run
"""
from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.faults import fuzz

pytestmark = pytest.mark.fuzz
REPO = Path(__file__).resolve().parents[2]
FAST_CASES = 6
SLOW_CASES = 400
MAX_RSS_MB = 1500
CAP_ADDRESS_SPACE = torch.version.cuda is None  # CUDA builds reserve far more than they use


def _limit_memory():
    if CAP_ADDRESS_SPACE:
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))


def _run(target: str, seed: int, n: int, work: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    proc = subprocess.run([sys.executable, str(Path(fuzz.__file__)), target, str(seed), str(n), str(work)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60 + n * fuzz.CASE_SECONDS,
                          preexec_fn=_limit_memory)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check(report: dict) -> None:
    assert report["failures"] == [], json.dumps(report["failures"][:5], indent=1)
    assert report["ok"] + report["refused"] == report["cases"]
    assert report["maxrss_mb"] < MAX_RSS_MB, report["maxrss_mb"]
    assert report["slowest_s"] < fuzz.CASE_SECONDS


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_AS"), reason="needs RLIMIT_AS")
@pytest.mark.parametrize("target", fuzz.TARGETS)
def test_fuzz_a_handful(tmp_path, target):
    _check(_run(target, 0, FAST_CASES, tmp_path))


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(resource, "RLIMIT_AS"), reason="needs RLIMIT_AS")
@pytest.mark.parametrize("target", fuzz.TARGETS)
def test_fuzz_long_run(tmp_path, target):
    report = _run(target, 1, SLOW_CASES, tmp_path)
    print(f"fuzz {target}: {report['cases']} cases, {report['ok']} ok, {report['refused']} refused, "
          f"slowest {report['slowest_s']} s, peak {report['maxrss_mb']:.0f} MB")
    _check(report)
