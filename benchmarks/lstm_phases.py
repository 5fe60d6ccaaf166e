"""Where rnnkit's fused LSTM training step spends its time, phase by phase.

Times (median of ``--repeats`` calls) the pieces of one forward + backward of
``rnnkit.nn.bptt.lstm`` at the character LM's default shape, (T, B, I, H) =
(64, 32, 64, 512): the input projection, the C++ forward loop, the C++ backward loop,
and the large GEMMs after it (dW_hh, dW_ih with the bias gradient, dx). One thread is
timed by this process's CPU time, more threads by the wall clock.

    PYTHONPATH=src .venv/bin/python benchmarks/lstm_phases.py --threads 1
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

    def ms(f) -> float:
        f()
        ts = []
        for _ in range(args.repeats):
            t = clock()
            f()
            ts.append(clock() - t)
        return statistics.median(ts) * 1e3

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
    print(f"(T, B, I, H) = {(T, B, I, H)}, {args.threads} thread(s), "
          f"{'CPU' if args.threads == 1 else 'wall'} ms, median of {args.repeats}")
    for name, f in rows.items():
        print(f"{name:40s} {ms(f):8.2f}")


if __name__ == "__main__":
    main()
