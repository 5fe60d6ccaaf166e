#!/usr/bin/env python3
"""One entry point for a fresh machine that has only Python 3.11.

    python3 dev.py run     # set up .venv (once), then run the main job on bundled data
    python3 dev.py test    # set up .venv (once), then run the default test suite
    python3 dev.py test -m slow          # the long accuracy-to-target runs
    python3 dev.py bench benchmarks/X.py # a benchmark script inside the environment

Both commands are idempotent: the virtual environment in ``.venv`` is reused as long
as ``pyproject.toml`` and the pins below are unchanged (a stamp file records their hash).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".rnnkit-setup"
# Development and CI pin: the CPU build of torch 2.13.0 installs in seconds here,
# while an unpinned torch pulls a multi-GB CUDA build.
PINS = ["torch==2.13.0"]
# The project's main job, run on bundled data by `python3 dev.py run`: forecast the
# bundled airline-passengers series 12 months ahead and compare with the baselines.
# runs/quickstart is this job's own folder, so a second run replaces the first
# (--overwrite removes only the files a forecast run writes).
MAIN_JOB = ["-m", "rnnkit", "forecast", "train", "--out", "runs/quickstart", "--overwrite"]


def _python() -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / "python"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    digest.update((ROOT / "pyproject.toml").read_bytes())
    digest.update("\n".join(PINS).encode())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_env() -> Path:
    """Create ``.venv`` and install rnnkit (editable) with its dev extras, once."""
    py = _python()
    want = _fingerprint()
    if py.exists() and STAMP.exists() and STAMP.read_text().strip() == want:
        return py
    if not py.exists():
        print(f"dev.py: creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    print("dev.py: installing rnnkit and its dependencies (once)", flush=True)
    pip = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, *PINS], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]", *PINS], check=True)
    # Build the optional fused C++ kernels now rather than inside the first test that
    # needs them (rnnkit.nn.kernels; they rebuild on first use when their sources change).
    subprocess.run([str(py), "-c", "from rnnkit.nn import kernels; kernels.available()"], check=False)
    STAMP.write_text(want + "\n")
    return py


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "bench", "setup"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    py = str(ensure_env())
    if command == "setup":
        return 0
    if command == "run":
        return subprocess.call([py, *MAIN_JOB, *rest], cwd=ROOT)
    if command == "bench":
        return subprocess.call([py, *rest], cwd=ROOT)
    # pytest exits 5 when it collects nothing; that is a failure here, never a pass.
    return subprocess.call([py, "-m", "pytest", *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
