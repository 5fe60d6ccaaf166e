"""Peak resident memory of one forward+backward, rnnkit.nn beside torch.nn, side by side.

    .venv/bin/python benchmarks/bench_memory.py                      # (16, 4000, 256, 256)
    .venv/bin/python benchmarks/bench_memory.py --shape 16,400,256,256 --repeats 1

Each measurement runs in a fresh Python process, so nothing one layer allocated (or the
allocator kept) is left for the next. In that process: build the layer and the input
x (T, B, I) (time-major, float32, x needs no gradient, as for a first layer), run one
warm-up forward+backward at T = 8 (loads the fused kernels and oneDNN), then reset the
kernel's high-water mark (``/proc/self/clear_refs``, value 5), read the resident set
size, run forward+backward of ``sum(y) + sum(h_n)`` once, and read the high-water mark
(``VmHWM``). The figure is peak − resident before the run, in MiB: what training that
layer adds on top of its parameters and input. Where /proc cannot reset the mark the
child falls back to ``ru_maxrss`` (then the whole process's peak counts) and says so.

Rows: torch.nn.LSTM, rnnkit.nn.LSTM (backend "auto" and "rnnkit"), the same for GRU,
and rnnkit.nn.MinGRU (torch.nn has none; it is shown beside torch.nn.GRU). The
order of the children alternates between repeats; the table gives the median.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    ("torch.nn.LSTM", "torch", "LSTM"),
    ("rnnkit.nn.LSTM auto", "auto", "LSTM"),
    ("rnnkit.nn.LSTM rnnkit", "rnnkit", "LSTM"),
    ("torch.nn.GRU", "torch", "GRU"),
    ("rnnkit.nn.GRU auto", "auto", "GRU"),
    ("rnnkit.nn.GRU rnnkit", "rnnkit", "GRU"),
    ("rnnkit.nn.MinGRU", "rnnkit", "MinGRU"),
]


def _status(field: str) -> int:
    """A VmXXX field of /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def child(backend: str, kind: str, shape: tuple[int, int, int, int], threads: int) -> dict:
    """Runs in the fresh process: one measured forward+backward (see the module doc)."""
    import resource

    import torch

    sys.path.insert(0, str(ROOT / "src"))
    import rnnkit.nn as rnn

    torch.set_num_threads(threads)
    B, T, I, H = shape
    torch.manual_seed(0)
    if backend == "torch":
        layer = getattr(torch.nn, kind)(I, H)
    elif kind == "MinGRU":
        layer = rnn.MinGRU(I, H)
    else:
        layer = getattr(rnn, kind)(I, H, backend=backend)
    params = list(layer.parameters())

    def step(x):
        for p in params:
            p.grad = None
        y, h = layer(x)
        h = h[0] if isinstance(h, tuple) else h
        (y.sum() + h.sum()).backward()

    step(torch.randn(8, B, I))  # warm-up: kernels, oneDNN primitives
    x = torch.randn(T, B, I)
    path = layer.resolved_backend() if hasattr(layer, "resolved_backend") else kind
    try:
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        method = "VmHWM after clear_refs"
        before = _status("VmRSS")
        step(x)
        peak = _status("VmHWM")
    except OSError:
        method = "ru_maxrss (whole process)"
        before = 0
        step(x)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"added_mib": (peak - before) / 2**20, "path": path, "method": method}


def measure(backend: str, kind: str, shape, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--child", backend, kind,
           "--shape", ",".join(map(str, shape)), "--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"bench_memory: the {backend} {kind} child failed: {tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", default="16,4000,256,256", help="B,T,I,H")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per row (median)")
    ap.add_argument("--child", nargs=2, metavar=("BACKEND", "KIND"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        shape = tuple(int(n) for n in args.shape.split(","))
        assert len(shape) == 4 and min(shape) > 0
    except (ValueError, AssertionError):
        ap.error(f"--shape: expected B,T,I,H of positive integers, got {args.shape!r}")
    if args.child:
        print(json.dumps(child(*args.child, shape, args.threads)))
        return 0
    B, T, I, H = shape
    results: dict[str, list[dict]] = {name: [] for name, _, _ in CASES}
    for r in range(args.repeats):
        order = CASES if r % 2 == 0 else CASES[::-1]
        for name, backend, kind in order:
            results[name].append(measure(backend, kind, shape, args.threads))
    print(f"(B, T, I, H) = {shape}, float32, forward+backward, {args.threads} threads, "
          f"median of {args.repeats} fresh processes; method: {results[CASES[0][0]][0]['method']}")
    print("| layer | path | peak added, MiB | all runs, MiB | vs torch.nn |")
    print("|---|---|---|---|---|")
    torch_ref = {}
    for name, backend, kind in CASES:
        runs = [r["added_mib"] for r in results[name]]
        med = statistics.median(runs)
        ref_kind = "GRU" if kind == "MinGRU" else kind
        if backend == "torch":
            torch_ref[kind] = med
        ratio = f"{med / torch_ref[ref_kind]:.2f}x" if ref_kind in torch_ref and backend != "torch" else ""
        print(f"| {name} | {results[name][0]['path']} | {med:.0f} | "
              f"{', '.join(f'{v:.0f}' for v in runs)} | {ratio} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
