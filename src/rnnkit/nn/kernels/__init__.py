"""Fused C++ CPU kernels for the time loops: optional, compiled on first use.

The hand-written BPTT of :mod:`rnnkit.nn.bptt` spends most of its non-GEMM time on
per-step costs: Python, op dispatch and a thread-pool hand-off for each of about ten
small elementwise ops (docs/performance.md). The kernels here run a whole time loop
in C++, with one GEMM (MKL, or oneDNN with packed weights) and *one* fused pass over
the gates per step. They compute exactly the quantities of the Python loops they
replace, so the surrounding code (input projection, weight gradients) is shared and
the tests compare the two paths.

They are built from the ``.cpp`` files beside this module with
``torch.utils.cpp_extension`` the first time they are needed (about 30 s on two
cores; ``python3 dev.py setup`` does it once for the development environment) and
cached under ``~/.cache/rnnkit/kernels/`` (or ``$RNNKIT_KERNELS_DIR``), keyed by the
sources, the interpreter and its environment, the torch build, the compiler and ninja,
and the CPU's instruction-set flags, since the build targets this CPU
(``-march=native``). Every build says so in one line on stderr, with the reason (first
build, sources changed, new environment, ...). Builds are serialised by a lock that
the operating system releases when its holder dies; see :mod:`.build`.

Without a C++ compiler, or when the build fails, rnnkit says so once on stderr and
runs the Python loops, with the same results. ``RNNKIT_KERNELS=0`` turns the kernels
off; ``RNNKIT_KERNELS=require`` makes a failed build an error (CI sets nothing: a
test asserts they build wherever a compiler exists).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import sysconfig
from pathlib import Path

import torch

from rnnkit.nn.kernels import build

__all__ = ["available", "applies", "rows_per_thread", "lstm_split", "disabled", "build_directory", "SOURCES"]

HERE = Path(__file__).parent
SOURCES = sorted(HERE.glob("*.cpp"))  # one library; each file registers its ops in torch.ops.rnnkit
HEADERS = sorted(HERE.glob("*.h"))
# -fopenmp makes ATen's parallel_for (inline in its headers) use torch's OpenMP pool;
# the library links against torch's own libgomp through libtorch_cpu, not a second one.
CFLAGS = ["-O3", "-march=native", "-fopenmp"]
LDFLAGS: list[str] = []

_state: dict = {"loaded": None, "off": 0}


def build_directory() -> Path:
    """The cache folder of this environment's build (see :mod:`.build` for the key)."""
    _ninja_on_path()
    return build.build_directory(build.key_parts(SOURCES + HEADERS, CFLAGS + LDFLAGS))


def _ninja_on_path() -> None:
    """torch's builder runs ``ninja`` from PATH; a venv's own ninja (the PyPI package)
    sits next to its python, which is not on PATH unless the venv is activated."""
    if shutil.which("ninja") is None:
        scripts = sysconfig.get_path("scripts")
        if scripts and shutil.which("ninja", path=scripts):
            os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def _load() -> bool:
    mode = os.environ.get("RNNKIT_KERNELS", "1").strip().lower()
    if mode in ("0", "off", "false", "no"):
        return False
    try:
        from torch.utils import cpp_extension

        _ninja_on_path()
        parts = build.key_parts(SOURCES + HEADERS, CFLAGS + LDFLAGS)
        where = build.build_directory(parts)
        where.mkdir(parents=True, exist_ok=True)
        lock = build.acquire(where, build.lock_timeout())
        try:
            reason = build.build_reason(where, parts)
            if reason is not None:
                build.announce(lock, where, reason, parts)
            cpp_extension.load(
                name="rnnkit_kernels",
                sources=[str(s) for s in SOURCES],
                extra_cflags=CFLAGS,
                extra_ldflags=LDFLAGS,
                build_directory=str(where),
                is_python_module=False,
                verbose=False,
            )
        finally:
            build.release(lock)
        return hasattr(torch.ops.rnnkit, "lstm_forward")
    except Exception as err:  # no compiler, no ninja, a failed build: fall back to Python
        if mode == "require":
            raise RuntimeError(
                f"rnnkit: RNNKIT_KERNELS=require, but the fused kernels did not build: {err}"
            ) from err
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(
            f"rnnkit: fused CPU kernels unavailable, using the Python loops ({first})",
            file=sys.stderr,
        )
        return False


def available() -> bool:
    """Whether the fused kernels are loaded (building them on the first call)."""
    if _state["off"]:
        return False
    if _state["loaded"] is None:
        _state["loaded"] = _load()
    return _state["loaded"]


def applies(x: torch.Tensor, op: str) -> bool:
    """Whether ``torch.ops.rnnkit.<op>`` can run on ``x``: a CPU float32/float64 tensor,
    with the kernels built (and this op in them)."""
    if x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64) or not available():
        return False
    known = _state.setdefault("ops", {})
    if op not in known:
        known[op] = hasattr(torch.ops.rnnkit, op)
    return known[op]


MIN_PARALLEL_WORK = 1 << 22  # kMinParallelWork in common.h


def rows_per_thread(B: int, T: int, row_work: int) -> int:
    """Rows of the batch each thread's time loop takes in the kernels (common.h, with
    ``row_work`` multiply-adds per row and step); oneDNN weights are packed for this many."""
    n = max(1, min(torch.get_num_threads(), B))
    if B * T * row_work < MIN_PARALLEL_WORK:
        n = 1
    return max(1, -(-B // n))


def lstm_split(B: int, T: int, H: int, threads: int | None = None) -> int:
    """How the fused loops of a plain LSTM call spread over ``threads`` (default: torch's
    thread count): 0 = each thread a block of batch rows, n = each of n threads a block
    of the hidden units (kernels/lstm_units.h; the rule is in docs/performance.md)."""
    if not available():
        return 0
    return int(torch.ops.rnnkit._lstm_split(B, T, H, threads or torch.get_num_threads()))


@contextlib.contextmanager
def disabled():
    """Run the Python loops inside this block (tests compare both paths)."""
    _state["off"] += 1
    try:
        yield
    finally:
        _state["off"] -= 1
