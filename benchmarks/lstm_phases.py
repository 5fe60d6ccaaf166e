"""Where rnnkit's fused LSTM training step spends its time, phase by phase.

Times (median of ``--repeats`` calls) the pieces of one forward + backward of
``rnnkit.nn.bptt.lstm`` at the character LM's default shape, (T, B, I, H) =
(64, 32, 64, 512): the input projection, the C++ forward loop, the C++ backward loop,
and the large GEMMs after it (dW_hh, dW_ih with the bias gradient, dx). One thread is
timed by this process's CPU time, more threads by the wall clock.

    PYTHONPATH=src .venv/bin/python benchmarks/lstm_phases.py --threads 1
    PYTHONPATH=src .venv/bin/python benchmarks/lstm_phases.py --threads 2 --split rows,units
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from rnnkit.nn import kernels
from rnnkit.nn.bptt import lstm as L
from rnnkit.nn.bptt._schedule import Schedule


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=21)
    p.add_argument("--split", default="auto", metavar="auto|rows|units[,...]",
                   help="how the C++ loops use the threads; several: one column each, calls interleaved")
    p.add_argument("--estimate-only", action="store_true", help="only the idle estimates (2+ threads)")
    p.add_argument("--loops-only", action="store_true", help="only the two C++ loops' wall times")
    p.add_argument("--shape", type=int, nargs=4, default=[64, 32, 64, 512], metavar=("T", "B", "I", "H"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    T, B, I, H = args.shape
    torch.manual_seed(0)
    x = torch.randn(T, B, I)
    h0, c0 = torch.randn(B, H) * 0.1, torch.randn(B, H) * 0.1
    w_ih, w_hh = torch.randn(4 * H, I) * 0.05, torch.randn(4 * H, H) * 0.05
    b_ih, b_hh = torch.randn(4 * H) * 0.1, torch.randn(4 * H) * 0.1
    sched = Schedule(T, B, None, False)
    if not kernels.applies(x, "lstm_forward"):
        raise SystemExit("the fused kernels do not apply here")
    clock = time.process_time if args.threads == 1 else time.perf_counter

    modes = {"auto": 0, "rows": 1, "units": 2}
    splits = [s for s in args.split.split(",") if s]

    def ms(f) -> list[float]:
        """Median ms of f under each split, the splits' calls interleaved."""
        ts: dict[str, list[float]] = {s: [] for s in splits}
        for k in range(args.repeats + 1):
            for s in splits if k % 2 == 0 else splits[::-1]:
                torch.ops.rnnkit._lstm_split_mode(modes[s])
                t = clock()
                f()
                if k:  # the first round warms up
                    ts[s].append(clock() - t)
        torch.ops.rnnkit._lstm_split_mode(0)
        return [statistics.median(ts[s]) * 1e3 for s in splits]

    bias = b_ih + b_hh
    G = L.input_projection(x.reshape(T * B, I), w_ih, bias).view(T, B, 4 * H)
    c0s = (c0 * 2).contiguous()
    y, C, TC, _ = torch.ops.rnnkit.lstm_forward(G.clone(), h0, c0s, w_hh.t(), None, False, True, None, None)
    dy, zeros = torch.randn(T, B, H), torch.zeros(B, H)
    dG = torch.randn(T, B, 4 * H)
    needs_x = (True, False, False, False, False, False, False, False)
    needs_w = (False, False, False, True, False, True, True, False)
    needs_all = (True, False, False, True, True, True, True, False)  # as in the char LM
    saved = (x, h0, c0, w_ih, w_hh, b_ih, b_hh, None, *L._forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, None,
                                                                   sched, True)[3], y)
    rows = {
        "forward, all (_forward)": lambda: L._forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, None, sched, True),
        "  input projection": lambda: L.input_projection(x.reshape(T * B, I), w_ih, bias),
        "  C++ forward loop (+ a copy of G)": lambda: torch.ops.rnnkit.lstm_forward(
            G.clone(), h0, c0s, w_hh.t(), None, False, True, None, None),
        "backward, all (_backward)": lambda: L._backward(saved, sched, needs_all, dy, zeros, zeros),
        "  C++ backward loop": lambda: torch.ops.rnnkit.lstm_backward(
            G, C, TC, c0s, dy, zeros, zeros, w_hh, None, False, None, None),
        "  dW_hh = sum_t dG_t^T h_{t-1}": lambda: sched.prev_matmul(dG, y, h0),
        "  dW_ih and db": lambda: L._weight_grads(x, h0, w_ih, None, None, y, sched, needs_w, dG, None, None, None),
        "  dx": lambda: L._weight_grads(x, h0, w_ih, None, None, y, sched, needs_x, dG, None, None, None),
    }
    def quiet(f) -> list[float]:
        """Each split's loop time on an idle machine, estimated from CPU clocks (ms):
        rows, the process CPU time over the threads (no thread ever waits for another;
        this halves the set-up too, in the rows' favour); units, the caller's set-up plus
        the busiest thread's CPU time outside the barrier waits (per-thread clocks in
        the kernel). On a busy machine the wall clock mostly measures when
        each thread got a core; this leaves the per-step hand-off's own cost out."""
        ts: dict[str, list[float]] = {s: [] for s in splits}
        torch.ops.rnnkit._lstm_split_profile(True)
        for k in range(args.repeats + 1):
            for s in splits if k % 2 == 0 else splits[::-1]:
                torch.ops.rnnkit._lstm_split_mode(modes[s])
                runs = torch.ops.rnnkit._lstm_unit_split_runs()
                c = time.process_time()
                f()
                c = time.process_time() - c
                if torch.ops.rnnkit._lstm_unit_split_runs() > runs:
                    cpu = torch.ops.rnnkit._lstm_split_profile(True)  # [work, wait] per thread, set-up
                    c = cpu[-1] + max(cpu[0:-1:2])  # the set-up, then the busiest thread
                else:
                    c /= args.threads
                if k:
                    ts[s].append(c)
        torch.ops.rnnkit._lstm_split_profile(False)
        torch.ops.rnnkit._lstm_split_mode(0)
        return [statistics.median(ts[s]) * 1e3 for s in splits]

    if args.threads > 1:
        Gs = G.clone()  # overwritten by each call (activations in, activations out): timing only
        rows["C++ forward loop, idle estimate"] = (quiet, lambda: torch.ops.rnnkit.lstm_forward(
            Gs, h0, c0s, w_hh.t(), None, False, True, None, None))
        rows["C++ backward loop, idle estimate"] = (quiet, rows["  C++ backward loop"])
    if args.estimate_only:
        rows = {k: v for k, v in rows.items() if isinstance(v, tuple)}
    if args.loops_only:
        rows = {k: v for k, v in rows.items() if k.startswith("  C++")}
    print(f"(T, B, I, H) = {(T, B, I, H)}, {args.threads} thread(s), "
          f"{'CPU' if args.threads == 1 else 'wall'} ms, median of {args.repeats}; split: "
          f"{kernels.lstm_split(B, T, H)} unit blocks by the rule (0 = batch rows)")
    print(f"{'':40s} " + " ".join(f"{s:>8s}" for s in splits))
    for name, f in rows.items():
        values = f[0](f[1]) if isinstance(f, tuple) else ms(f)
        print(f"{name:40s} " + " ".join(f"{v:8.2f}" for v in values))


if __name__ == "__main__":
    main()
