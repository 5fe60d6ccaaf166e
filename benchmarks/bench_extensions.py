"""Side-by-side timings for rnnkit's extensions (issue 6).

    .venv/bin/python benchmarks/bench_extensions.py mingru [--threads 1] [--rounds 3] [--T 1000 4000]
    .venv/bin/python benchmarks/bench_extensions.py cells  [--threads 1] [--rounds 5]
    .venv/bin/python benchmarks/bench_extensions.py accuracy

Every contender runs once per round, in an interleaved order, and we report the
median time of forward+backward (loss = sum of outputs) and the ratio to the
baseline measured in the same rounds. This keeps ratios honest on a shared CPU
whose absolute speed drifts.

* ``mingru``: B=16, I=H=256. torch.nn.GRU (baseline), torch.nn.LSTM, rnnkit MinGRU
  and MinLSTM (chunked scan, fused hand-written backward), and two alternatives
  we measured to choose the scan: the paper's log-space scan (``logcumsumexp``)
  and a plain autograd loop of one ``lerp`` per step with the projection hoisted.
* ``cells``: (B, T, I, H) = (64, 100, 64, 256). Layer-norm LSTM and zoneout LSTM
  as plain autograd loops (as a user would write them) against rnnkit's
  hand-written-backward versions.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from rnnkit.nn.minimal.layers import MinGRU, MinLSTM, g_activation  # noqa: E402


def _time_once(fn, clock: str = "wall") -> float:
    """Seconds of wall-clock time, or of this process's CPU time (``clock="cpu"``).

    On a CPU shared with other jobs the CPU time of a single-threaded run is the
    steadier measure of work: it leaves out the time spent waiting for a core.
    """
    now = time.perf_counter if clock == "wall" else time.process_time
    t0 = now()
    fn()
    return now() - t0


def interleaved(contenders: dict, rounds: int, clock: str = "wall") -> dict[str, list[float]]:
    """Run each contender once per round (warm-up round discarded)."""
    for fn in contenders.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(rounds):
        names = list(contenders)
        if r % 2:
            names.reverse()
        for name in names:
            times[name].append(_time_once(contenders[name], clock))
    return times


def report(title: str, times: dict[str, list[float]], baseline: str) -> None:
    base = statistics.median(times[baseline])
    print(f"\n{title}")
    print(f"| contender | median ms | all rounds ms | speed-up vs {baseline} |")
    print("|---|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        rounds = ", ".join(f"{t * 1e3:.0f}" for t in ts)
        print(f"| {name} | {med * 1e3:.1f} | {rounds} | {base / med:.2f}x |")


# --- minGRU alternatives used to choose the scan -----------------------------------
def logspace_mingru(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The paper's log-space parallel scan (h0 = 0), for comparison only."""
    pre_z, pre_h = F.linear(x, weight, bias).chunk(2, dim=-1)  # (T, B, H) each
    log_a = -F.softplus(pre_z)  # log(1 − z)
    log_z = -F.softplus(-pre_z)  # log z
    log_cand = torch.where(pre_h >= 0, (F.relu(pre_h) + 0.5).log(), -F.softplus(-pre_h))
    a_star = log_a.cumsum(0)  # (T, B, H)
    return (a_star + (log_z + log_cand - a_star).logcumsumexp(0)).exp()


def loop_mingru(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """One torch.lerp per step under autograd, projection hoisted (h0 = 0)."""
    pre_z, pre_h = F.linear(x, weight, bias).chunk(2, dim=-1)
    zs, cands = torch.sigmoid(pre_z).unbind(0), g_activation(pre_h).unbind(0)
    h = x.new_zeros(zs[0].shape)
    out = []
    for z, cand in zip(zs, cands):
        h = torch.lerp(h, cand, z)  # (B, H)
        out.append(h)
    return torch.stack(out)


def bench_mingru(T_values: list[int], rounds: int) -> None:
    B, I, H = 16, 256, 256
    for T in T_values:
        x = torch.randn(T, B, I, requires_grad=True)
        gru, lstm = torch.nn.GRU(I, H), torch.nn.LSTM(I, H)
        mingru, minlstm = MinGRU(I, H), MinLSTM(I, H)
        w, b = mingru.weight_ih_l0, mingru.bias_ih_l0

        def step(fn):
            def run():
                x.grad = None
                fn().sum().backward()
            return run

        contenders = {
            "torch.nn.GRU": step(lambda: gru(x)[0]),
            "torch.nn.LSTM": step(lambda: lstm(x)[0]),
            "rnnkit MinGRU": step(lambda: mingru(x)[0]),
            "rnnkit MinLSTM": step(lambda: minlstm(x)[0]),
            "log-space scan minGRU": step(lambda: logspace_mingru(x, w, b)),
            "lerp loop minGRU": step(lambda: loop_mingru(x, w, b)),
        }
        for clock in ("wall", "cpu"):
            times = interleaved(contenders, rounds, clock)
            report(f"fwd+bwd, B={B} T={T} I={I} H={H}, threads={torch.get_num_threads()}, "
                   f"{clock} clock", times, "torch.nn.GRU")


def bench_accuracy(T: int = 4000, B: int = 4, H: int = 64) -> None:
    """float32 error of each scan against the float64 sequential loop (outputs, gradients)."""
    from rnnkit.nn.minimal.scan import scan_sequential

    torch.manual_seed(0)
    model = MinGRU(H, H)
    x64 = torch.randn(T, B, H, dtype=torch.float64)
    weights = torch.randn(T, B, H, dtype=torch.float64)

    def reference(x, w, b):
        pre_z, pre_h = F.linear(x, w, b).chunk(2, dim=-1)
        z = torch.sigmoid(pre_z)
        return scan_sequential(1 - z, z * g_activation(pre_h), x.new_zeros(B, H))

    def run(fn, dtype):
        x = x64.to(dtype).requires_grad_()
        w = model.weight_ih_l0.detach().to(dtype).requires_grad_()
        b = model.bias_ih_l0.detach().to(dtype).requires_grad_()
        y = fn(x, w, b)
        grads = torch.autograd.grad((y * weights.to(dtype)).sum(), (x, w))
        return [t.double() for t in (y, *grads)]

    def ours(x, w, b):
        with torch.nn.utils.stateless._reparametrize_module(
                model, {"weight_ih_l0": w, "bias_ih_l0": b}):
            return model(x)[0]

    ref = run(reference, torch.float64)
    print(f"\nfloat32 accuracy at T={T}, B={B}, H={H} (max |err| / max |ref|; float64 loop = ref)")
    print("| scan | output | dL/dx | dL/dW |")
    print("|---|---|---|---|")
    for name, fn in (("rnnkit chunked scan", ours), ("log-space scan", logspace_mingru),
                     ("sequential loop", reference)):
        got = run(fn, torch.float32)
        errs = [((g - r).abs().max() / r.abs().max()).item() for g, r in zip(got, ref)]
        print(f"| {name} | " + " | ".join(f"{e:.1e}" for e in errs) + " |")


# --- layer-norm and zoneout LSTM -------------------------------------------------------
class UserLayerNormLSTMCell(torch.nn.Module):
    """An LN-LSTM cell the way a user writes it: nn.LayerNorm modules, autograd does the rest."""

    def __init__(self, I: int, H: int) -> None:
        super().__init__()
        self.ih, self.hh = torch.nn.Linear(I, 4 * H), torch.nn.Linear(H, 4 * H)
        self.ln_ih, self.ln_hh, self.ln_c = (torch.nn.LayerNorm(4 * H), torch.nn.LayerNorm(4 * H),
                                             torch.nn.LayerNorm(H))

    def forward(self, x_t, h, c):
        i, f, g, o = (self.ln_ih(self.ih(x_t)) + self.ln_hh(self.hh(h))).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(self.ln_c(c)), c


class UserZoneoutLSTMCell(torch.nn.Module):
    """A zoneout LSTM cell the way a user writes it (a fresh mask per step and unit)."""

    def __init__(self, I: int, H: int, p: float) -> None:
        super().__init__()
        self.cell, self.p = torch.nn.LSTMCell(I, H), p

    def forward(self, x_t, h, c):
        h_new, c_new = self.cell(x_t, (h, c))
        m_h = torch.empty_like(h).bernoulli_(self.p)
        m_c = torch.empty_like(c).bernoulli_(self.p)
        return m_h * h + (1 - m_h) * h_new, m_c * c + (1 - m_c) * c_new


def user_loop(cell, x, H):
    h = c = x.new_zeros(x.shape[1], H)
    ys = []
    for x_t in x.unbind(0):
        h, c = cell(x_t, h, c)
        ys.append(h)
    return torch.stack(ys)


def bench_cells(rounds: int) -> None:
    from rnnkit.nn import LSTM
    from rnnkit.nn.extensions import runner

    B, T, I, H = 64, 100, 64, 256
    x = torch.randn(T, B, I, requires_grad=True)
    ln_user, zo_user = UserLayerNormLSTMCell(I, H), UserZoneoutLSTMCell(I, H, 0.1)
    ln_rnnkit, zo_rnnkit = LSTM(I, H, layer_norm=True), LSTM(I, H, zoneout=0.1)

    def step(fn, fused=True):
        def run():
            runner.USE_FUSED_LSTM = fused
            x.grad = None
            fn().sum().backward()
            runner.USE_FUSED_LSTM = "auto"
        return run

    contenders = {
        "LN-LSTM, user autograd cell": step(lambda: user_loop(ln_user, x, H)),
        "LN-LSTM, rnnkit autograd loop": step(lambda: ln_rnnkit(x)[0], fused=False),
        "LN-LSTM, rnnkit (hand-written backward)": step(lambda: ln_rnnkit(x)[0]),
        "zoneout LSTM, user autograd cell": step(lambda: user_loop(zo_user, x, H)),
        "zoneout LSTM, rnnkit autograd loop": step(lambda: zo_rnnkit(x)[0], fused=False),
        "zoneout LSTM, rnnkit (hand-written backward)": step(lambda: zo_rnnkit(x)[0]),
    }
    for clock in ("wall", "cpu"):
        times = interleaved(contenders, rounds, clock)
        for kind in ("LN-LSTM", "zoneout LSTM"):
            sub = {k: v for k, v in times.items() if k.startswith(kind)}
            report(f"{kind} fwd+bwd, (B,T,I,H)=({B},{T},{I},{H}), threads="
                   f"{torch.get_num_threads()}, {clock} clock", sub, f"{kind}, user autograd cell")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["mingru", "cells", "accuracy"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--T", type=int, nargs="+", default=[1000, 4000])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, "
          f"rounds={args.rounds} (+1 warm-up), {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    if args.what == "mingru":
        bench_mingru(args.T, args.rounds)
    elif args.what == "accuracy":
        bench_accuracy()
    else:
        bench_cells(args.rounds)


if __name__ == "__main__":
    main()
