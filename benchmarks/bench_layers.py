"""rnnkit.nn layers (backend="rnnkit", hand-written BPTT) against torch.nn, side by side.

    .venv/bin/python benchmarks/bench_layers.py            # full table, ~3-6 min on 2 cores
    .venv/bin/python benchmarks/bench_layers.py --quick    # small shapes only, < 1 min
    .venv/bin/python benchmarks/bench_layers.py --layers lstm --profile   # where time goes
    .venv/bin/python benchmarks/bench_layers.py --variants all --auto   # backend="auto" table

For each layer (LSTM, GRU, RNN-tanh) and shape (B, T, I, H), one layer, float32,
time-major input, both modules holding the same weights:

* forward under ``torch.inference_mode``;
* forward + backward (loss = sum of outputs and of h_n; x needs no gradient, as for a
  first layer, so both skip dx).

Every repetition times torch and rnnkit back to back, alternating which goes first,
after warm-up; we report the median of ``--reps`` (≥ 7) repetitions, the ratio
rnnkit / torch of those medians, and GFLOP/s from the usual count: forward
2·G·H·(I + H)·B·T per layer (G = 4 LSTM, 3 GRU, 1 RNN), forward + backward ≈ 3× that.
Then a T-scaling check: LSTM forward+backward at T = 1000 should take about 10× T = 100.

``--variants`` adds rows beside the plain float32 ones: ``proj`` (LSTM with
proj_size = H/4, at least 1), ``packed`` (a PackedSequence with lengths spread over
[T/2, T], unsorted), ``f64`` (float64). ``--auto`` also times ``backend="auto"`` in the
same interleaved rounds and prints its ratio to torch and which path it chose; these
rows are what the decision table of ``rnnkit.nn.backend_choice`` was filled from.

``--clock cpu`` times with the process's CPU time instead of the wall clock. On a
shared machine with one thread (``--threads 1``) this leaves out the time spent
waiting for other processes, so the ratios are much steadier; with several threads it
would also count the pool's spinning, so use it with ``--threads 1`` only.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import warnings

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import rnnkit.nn as rnn  # noqa: E402

SHAPES = [(64, 100, 32, 128), (64, 100, 64, 256), (32, 200, 128, 512), (100, 5, 1, 10)]
QUICK_SHAPES = [(64, 100, 32, 128), (100, 5, 1, 10)]
GATES = {"lstm": 4, "gru": 3, "rnn": 1}


VARIANTS = ("plain", "proj", "packed", "f64")


def build(kind: str, I: int, H: int, variant: str = "plain", backend: str = "rnnkit"):
    """(torch.nn module, rnnkit.nn module) with identical weights (float64 for "f64")."""
    cls_t = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
    cls_r = {"lstm": rnn.LSTM, "gru": rnn.GRU, "rnn": rnn.RNN}[kind]
    extra = {"proj_size": max(1, H // 4)} if variant == "proj" else {}
    dtype = torch.float64 if variant == "f64" else torch.float32
    with warnings.catch_warnings():  # torch.nn.LSTM(proj_size) warns about oneDNN; known
        warnings.simplefilter("ignore")
        ref = cls_t(I, H, **extra).to(dtype)
    mine = cls_r(I, H, backend=backend, **extra).to(dtype)
    mine.load_state_dict(ref.state_dict())
    return ref, mine


def make_input(variant: str, B: int, T: int, I: int):
    """(T, B, I) float32, float64 for "f64", or a PackedSequence for "packed"."""
    if variant == "packed":
        g = torch.Generator().manual_seed(1)
        lengths = torch.randint(max(1, T // 2), T + 1, (B,), generator=g)
        lengths[0] = T
        return pack_padded_sequence(torch.randn(T, B, I), lengths, enforce_sorted=False)
    return torch.randn(T, B, I, dtype=torch.float64 if variant == "f64" else torch.float32)


def forward_fn(m, x):
    def run():
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m(x)

    return run


def train_fn(m, x):
    params = list(m.parameters())

    def run():
        for p in params:
            p.grad = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y, h = m(x)
        y = y.data if isinstance(y, PackedSequence) else y
        h = h[0] if isinstance(h, tuple) else h
        (y.sum() + h.sum()).backward()

    return run


CLOCK = time.perf_counter


def time_many(fns, reps: int, warmup: int = 2) -> list[float]:
    """Median seconds of each function, interleaved; the order rotates every round."""
    for _ in range(warmup):
        for f in fns:
            f()
    acc: list[list[float]] = [[] for _ in fns]
    n = len(fns)
    for r in range(reps):
        for k in range(n):
            i = (k + r) % n if r % 2 == 0 else (n - 1 - k + r) % n
            t0 = CLOCK()
            fns[i]()
            acc[i].append(CLOCK() - t0)
    return [statistics.median(a) for a in acc]


def time_pair(fa, fb, reps: int, warmup: int = 2) -> tuple[float, float]:
    """Median seconds of fa and fb, interleaved, alternating which goes first."""
    a, b = time_many([fa, fb], reps, warmup)
    return a, b


def flops(kind: str, B: int, T: int, I: int, H: int) -> float:
    return 2.0 * GATES[kind] * H * (I + H) * B * T




def auto_choice(m, training: bool, x) -> str:
    """The path backend="auto" takes for this module and input ("torch" or "rnnkit")."""
    with torch.set_grad_enabled(training):
        return m.resolved_backend(isinstance(x, PackedSequence))


def run_table(kinds, shapes, reps, variants=("plain",), auto: bool = False) -> list[str]:
    head = ("| layer | (B, T, I, H) | torch fwd ms | rnnkit fwd ms | fwd ratio | rnnkit fwd GFLOP/s "
            "| torch fwd+bwd ms | rnnkit fwd+bwd ms | fwd+bwd ratio | rnnkit fwd+bwd GFLOP/s |")
    if auto:
        head += " auto fwd ratio (path) | auto fwd+bwd ratio (path) | torch copy fwd / fwd+bwd |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    print(lines[0], flush=True)
    print(lines[1], flush=True)
    for variant in variants:
        for kind in kinds:
            if variant == "proj" and kind != "lstm":
                continue
            for B, T, I, H in shapes:
                torch.manual_seed(0)
                ref, mine = build(kind, I, H, variant)
                auto_m = build(kind, I, H, variant, backend="auto")[1] if auto else None
                # control: a second torch.nn module with the same weights, timed in the same
                # rounds; its ratio to the first is the spread of one identical call
                control = build(kind, I, H, variant)[0] if auto else None
                if auto:
                    auto_m.load_state_dict(ref.state_dict())
                    control.load_state_dict(ref.state_dict())
                x = make_input(variant, B, T, I)
                mods = (ref, mine, auto_m, control)
                fwd = [forward_fn(m, x) for m in mods if m is not None]
                trn = [train_fn(m, x) for m in mods if m is not None]
                tf, mf, *af = time_many(fwd, reps)
                tt, mt, *at = time_many(trn, reps)
                fl = flops(kind, B, T, I, H)
                name = kind.upper() + ("" if variant == "plain" else f" {variant}")
                line = (
                    f"| {name} | ({B}, {T}, {I}, {H}) | {tf * 1e3:.2f} | {mf * 1e3:.2f} | "
                    f"{mf / tf:.2f} | {fl / mf / 1e9:.1f} | {tt * 1e3:.2f} | {mt * 1e3:.2f} | "
                    f"{mt / tt:.2f} | {3 * fl / mt / 1e9:.1f} |"
                )
                if auto:
                    line += (f" {af[0] / tf:.2f} ({auto_choice(auto_m, False, x)}) |"
                             f" {at[0] / tt:.2f} ({auto_choice(auto_m, True, x)}) |"
                             f" {af[1] / tf:.2f} / {at[1] / tt:.2f} |")
                print(line, flush=True)
                lines.append(line)
    return lines


def t_scaling(reps: int) -> list[str]:
    """LSTM forward+backward at T=100 and T=1000 (B=16, I=32, H=64): ratio ≈ 10 if O(T)."""
    torch.manual_seed(0)
    ref, mine = build("lstm", 32, 64)
    out = []
    times = {}
    for T in (100, 1000):
        x = torch.randn(T, 16, 32)
        times[T] = time_pair(train_fn(ref, x), train_fn(mine, x), reps)
    for name, k in (("torch.nn.LSTM", 0), ("rnnkit LSTM", 1)):
        a, b = times[100][k], times[1000][k]
        out.append(f"T-scaling {name}: T=100 {a * 1e3:.1f} ms, T=1000 {b * 1e3:.1f} ms, ratio {b / a:.1f}x")
        print(out[-1], flush=True)
    return out


def profile(kind: str, shape) -> None:
    """Top ops of rnnkit forward+backward at one shape (torch.profiler, CPU time)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as prof

    B, T, I, H = shape
    _, mine = build(kind, I, H)
    x = torch.randn(T, B, I)
    run = train_fn(mine, x)
    run()
    with prof(activities=[ProfilerActivity.CPU]) as p:
        run()
    print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average {load:.1f} at start"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="two small shapes, no T-scaling")
    ap.add_argument("--layers", default="lstm,gru,rnn", help="comma list of lstm, gru, rnn")
    ap.add_argument("--reps", type=int, default=7, help="timed repetitions (median; at least 7)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--profile", action="store_true", help="profile rnnkit at (64,100,64,256) and stop")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="wall clock or process CPU time")
    ap.add_argument("--variants", default="plain",
                    help="comma list of plain, proj, packed, f64, or all (see the module doc)")
    ap.add_argument("--auto", action="store_true", help='also time backend="auto" and show its path')
    ap.add_argument("--shapes", default="", help="B,T,I,H[;B,T,I,H...] instead of the standard shapes")
    args = ap.parse_args(argv)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.reps < 7:
        ap.error(f"--reps: expected at least 7, got {args.reps}")
    if args.threads:
        torch.set_num_threads(args.threads)
    kinds = [k.strip() for k in args.layers.split(",") if k.strip()]
    for k in kinds:
        if k not in GATES:
            ap.error(f"--layers: expected names from lstm, gru, rnn, got {k!r}")
    variants = VARIANTS if args.variants == "all" else [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if v not in VARIANTS:
            ap.error(f"--variants: expected names from {', '.join(VARIANTS)} or all, got {v!r}")
    shapes = QUICK_SHAPES if args.quick else SHAPES
    if args.shapes:
        try:
            shapes = [tuple(int(n) for n in s.split(",")) for s in args.shapes.split(";")]
            assert all(len(s) == 4 and min(s) > 0 for s in shapes)
        except (ValueError, AssertionError):
            ap.error(f"--shapes: expected B,T,I,H[;B,T,I,H...] of positive integers, got {args.shapes!r}")
    print(f"{machine()}, {args.clock} clock, median of {args.reps}", flush=True)
    if args.profile:
        for k in kinds:
            profile(k, (64, 100, 64, 256))
        return 0
    run_table(kinds, shapes, args.reps, variants, args.auto)
    if not args.quick and not args.shapes and variants == ["plain"]:
        t_scaling(args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
