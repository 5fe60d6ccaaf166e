"""Collections of the RNN alone compared: the default combination rule scored on each (offline).

``bench_forecast_partners.py --collect DIR [--options JSON]`` writes the RNN-alone forecasts of
the validation split (inner and val windows) for one set of Forecaster options; this script
scores several such collections side by side, each with the default combination rule
(``gmase``: weights chosen on the inner window by the geometric mean of the series' MASE,
halfway to the prior 0.6 / 0.2 / 0.2, as ``fit`` does), on the val window:

- per set, sMAPE / MASE (mean over the seeds) of the combination and of the RNN alone;
- per seed, the summed sMAPE over the sets and the mean over sets of MASE relative to the
  first collection's;
- per set, MASE on the flattest third of the series (``bench_forecast_rules.trend_strength``,
  cut on the val window's histories: the sixth session's statistic), RNN alone and combination.

    nice -n 19 .venv/bin/python benchmarks/bench_forecast_collections.py runs/base runs/mase --seeds 0,1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from bench_forecast_m import SETS
from bench_forecast_partners import _window
from bench_forecast_rules import RULES, trend_strength
from rnnkit.tasks.forecast.metrics import mase_scale
from rnnkit.tasks.forecast.select import mase_scales
from rnnkit.tasks.forecast.theta import seasonally_adjusted


def _scores(f: np.ndarray, y: np.ndarray, sc: np.ndarray, ok: np.ndarray, flat: np.ndarray) -> tuple:
    """(sMAPE, MASE, MASE on the flat third) of forecasts f (S, H) for actuals y (S, H)."""
    smape = float((200 * np.abs(f - y) / (np.abs(f) + np.abs(y))).mean())
    per = np.abs(f - y).mean(1) / np.where(ok, sc, 1.0)
    return smape, float(per[ok].mean()), float(per[ok & flat].mean())


def score_dir(src: Path, name: str, seed: int) -> dict:
    """{"combo": (sMAPE, MASE, flat MASE), "rnn": (...), "note": weights} on the val window."""
    Fi, yi, panel, m, _ = _window(src / f"{name}_inner_{seed}.npz", "damped")
    Fv, y, pv, m, hist = _window(src / f"{name}_val_{seed}.npz", "damped")
    h = yi.shape[1]
    ctx = {"fi": seasonally_adjusted(panel, h, m, True)[1], "fv": seasonally_adjusted(pv, h, m, True)[1],
           "pi": panel, "pv": pv, "h": h, "m": m}
    f, note = RULES["gmase"](Fi, yi, mase_scales(panel.values, panel.mask, m), Fv, ctx)
    yv = y.numpy()
    sc = np.array([mase_scale(x, m) for x in hist])
    ok = np.isfinite(sc) & (sc > 0)
    t = trend_strength(pv, h, m)
    flat = (t <= torch.quantile(t, 1 / 3)).numpy()
    return {"combo": _scores(f.clamp(min=1e-12).numpy(), yv, sc, ok, flat),
            "rnn": _scores(Fv[0].clamp(min=1e-12).numpy(), yv, sc, ok, flat), "note": note}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dirs", nargs="+", type=Path, help="collections (bench_forecast_partners.py --collect); the first is the reference")
    p.add_argument("--sets", default="all", help=f"comma list of {', '.join(SETS)} or 'all'")
    p.add_argument("--seeds", default="0,1")
    a = p.parse_args(argv)
    sets = list(SETS) if a.sets == "all" else a.sets.split(",")
    for n in sets:
        if n not in SETS:
            p.error(f"--sets: unknown set {n!r}; choose from {', '.join(SETS)}")
    seeds = [int(s) for s in a.seeds.split(",")]
    torch.set_num_threads(1)
    res = {}  # (dir, set, seed) -> score_dir's dict
    for d in a.dirs:
        for n in sets:
            for s in seeds:
                res[d, n, s] = r = score_dir(d, n, s)
                print(f"# {d} {n} seed {s}: combo {r['combo'][0]:.3f} / {r['combo'][1]:.4f}, "
                      f"RNN {r['rnn'][0]:.3f} / {r['rnn'][1]:.4f}, {r['note']}", file=sys.stderr, flush=True)
    ref = a.dirs[0]
    print("| collection | what | " + " | ".join(sets) + " | sum sMAPE per seed | mean MASE / first's per seed |")
    print("|---|---|" + "---|" * (len(sets) + 2))
    for what in ("combo", "rnn"):
        for d in a.dirs:
            cells = [f"{np.mean([res[d, n, s][what][0] for s in seeds]):.2f} / "
                     f"{np.mean([res[d, n, s][what][1] for s in seeds]):.3f}" for n in sets]
            tot = " / ".join(f"{sum(res[d, n, s][what][0] for n in sets):.2f}" for s in seeds)
            rel = " / ".join(f"{np.mean([res[d, n, s][what][1] / res[ref, n, s][what][1] for n in sets]):.4f}" for s in seeds)
            label = "default rule" if what == "combo" else "RNN alone"
            print(f"| {d.name} | {label} | " + " | ".join(cells) + f" | {tot} | {rel} |")
    print()
    print("| flat-third MASE | " + " | ".join(sets) + " | mean / first's per seed |")
    print("|---|" + "---|" * (len(sets) + 1))
    for what in ("rnn", "combo"):
        for d in a.dirs:
            cells = [f"{np.mean([res[d, n, s][what][2] for s in seeds]):.3f}" for n in sets]
            rel = " / ".join(f"{np.mean([res[d, n, s][what][2] / res[ref, n, s][what][2] for n in sets]):.4f}" for s in seeds)
            label = "default rule" if what == "combo" else "RNN alone"
            print(f"| {d.name} {label} | " + " | ".join(cells) + f" | {rel} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
