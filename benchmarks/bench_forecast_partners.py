"""Variants of the damped-trend partner, scored offline on the validation split of M1/M3.

Two steps, so that a partner variant can be judged without training the RNN again:

``--collect DIR`` fits the RNN alone (``theta=0, damped=0``) on two windows of the
validation split of ``bench_forecast_m.py`` and saves its median forecasts:

    inner: trained on x[:-2h], forecasting x[-2h:-h]   (the window `fit` holds out)
    val:   trained on x[:-h],  forecasting x[-h:]      (the validation split's test part)
    inner2 (only with ``--windows inner,val,inner2``): trained on x[:-3h], forecasting x[-3h:-2h]
           (the window before it; series with fewer than 3 points left drop out, as ``holdout`` drops them)

as DIR/SET_{inner,val,inner2}_SEED.npz (ids, rnn (S, h), actual (S, h), hist, season).

``--score DIR`` then, for every variant, computes Theta and the variant's damped trend on
both windows, chooses the (RNN, Theta, damped) weights on the inner window as `fit` did
before the seventh session (``select.choose_weights``: simplex grid, mean MASE, halfway to the
prior 0.6 / 0.2 / 0.2) and prints sMAPE / MASE of the combination on the val window, per set
(mean over the seeds), with the summed sMAPE and the mean MASE relative to the first variant
listed, per seed. A variant is a damped-partner variant (below) or a combination rule of
``bench_forecast_rules.py`` (with the damped partner as it is; ``gmase``: today's default).
Partner variants:

    damped  the partner as it is (damped.py: (alpha, beta, phi) on a 140-point grid, phi <= 0.98)
    fine    the same on a 1,190-point grid (17 alphas, 10 betas, 7 phis in [0.8, 0.98])
    fit     (alpha, beta, phi) fitted continuously per series, the whole panel at once
            (Adam on the profiled in-sample SSE, 60 steps from the grid's best, phi in [0.8, 0.98])
    phi1    the grid with phi = 0.9999 added (an undamped trend allowed, as AutoETS's AAN)
    hw      a seasonal ETS in its place: damped Holt-Winters on the log scale, fitted per series
            for the whole panel at once (Adam, 80 steps); on sets without a season, damped

statsforecast's AutoETS (ninth session; ``stats_baselines.stats_forecasts``, the call of the
baselines: ``AutoETS(season_length=m)``, model by AICc, Naive fallback), with today's rule
(``gmase``: geometric mean of the series' MASE, halfway to the prior):

    ets     AutoETS in place of the damped trend: (RNN, Theta, AutoETS), prior 0.6 / 0.2 / 0.2
    ets4    AutoETS as a 4th component: (RNN, Theta, damped, AutoETS), prior 0.6 / 0.1 / 0.1 / 0.2
    autoets AutoETS alone (no weights)

statsforecast's ETS(A,N,A), the additive moving season AutoETS picks on elec_equip (twenty-fourth session):

    ana4    AutoETS(model="ANA") as a 4th component: (RNN, Theta, damped, ETS(A,N,A)), prior 0.6 / 0.2 / 0.2 / 0
            (Naive where a series is too short for it); for the seasonal sets
    ana4t   the same with rnnkit's own ETS(A,N,A) (option seasonal_ets, seasonal_ets.py) in place of statsforecast's

Weights chosen on two windows (fifteenth session; needs the inner2 collection):

    win2    today's rule (gmase) with the (series, window) rows of inner and inner2 pooled: the
            geometric mean of the MASE over all rows, each row scaled by its own window's history

AutoETS's forecasts of a window are the same for every seed; they are cached in
DIR/autoets_SET_WINDOW.npy (delete them to refit).

    nice -n 19 .venv/bin/python benchmarks/bench_forecast_partners.py --collect runs/partners --seeds 0,1
    nice -n 19 .venv/bin/python benchmarks/bench_forecast_partners.py --score runs/partners --seeds 0,1
    .venv/bin/python benchmarks/bench_forecast_partners.py --score runs/fc4 --seeds 0,1 --variants gmase,ets,ets4,autoets

``--options JSON`` passes Forecaster options to ``--collect`` (e.g. '{"loss_scale": "mase"}').
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bench_forecast_m import M_SETS, SETS, load_set
from bench_forecast_rules import RULES
from rnnkit.data.panel import long_to_panel, seasonal_indices
from rnnkit.tasks.forecast import damped as D
from rnnkit.tasks.forecast.combine import PRIOR
from rnnkit.tasks.forecast.metrics import mase_scale
from rnnkit.tasks.forecast.select import choose_weights, holdout, mase_scales
from rnnkit.tasks.forecast.stats_baselines import stats_forecasts
from rnnkit.tasks.forecast.theta import seasonally_adjusted, theta_forecast


def collect(out: Path, sets: list[str], seeds: list[int], options: dict | None = None,
            which: tuple[str, ...] = ("inner", "val")) -> None:
    from rnnkit.tasks.forecast.estimator import Forecaster

    def last(frame):
        return {u: g["y"].to_numpy() for u, g in frame.groupby("unique_id", sort=False)}

    out.mkdir(parents=True, exist_ok=True)
    for name in sets:
        df, test, season, h = load_set(name, "val")
        inner, held = holdout(df, h)
        windows = {"inner": (inner, last(held)), "val": (df, test)}
        if "inner2" in which:
            inner2, held2 = holdout(inner, h)
            windows["inner2"] = (inner2, last(held2))
        for split, (d, actual) in windows.items():
            if split not in which:
                continue
            hist = last(d)
            ids = list(hist)
            for seed in seeds:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fc = Forecaster(h, season=season, seed=seed, theta=0.0, damped=0.0, **(options or {})).fit(d).predict(level=())
                go = {u: g["forecast"].to_numpy() for u, g in fc.groupby("unique_id", sort=False)}
                np.savez(out / f"{name}_{split}_{seed}.npz", ids=np.array(ids), rnn=np.stack([go[u] for u in ids]),
                         actual=np.stack([actual[u] for u in ids]), hist=np.array([hist[u] for u in ids], dtype=object),
                         season=season)
                print(f"# collected {name} {split} seed {seed}: {len(ids)} series", file=sys.stderr, flush=True)


def _grid(alphas, betas, phis) -> torch.Tensor:
    return torch.tensor(list(itertools.product(alphas, betas, phis)), dtype=torch.float64)


def damped_with_grid(grid: torch.Tensor):
    def run(panel, h, m):
        old, D.GRID = D.GRID, grid
        try:
            return D.damped_forecast(panel, h, m, True)
        finally:
            D.GRID = old
    return run


def _profile(x, m, al, ab, phi, ridge=1e-3):
    """damped.py's recursion with per-series parameters (S, 1): (in-sample SSE, level, trend), (S, 1) each,
    the initial level and trend by least squares; differentiable in the parameters."""
    z = torch.zeros_like(al + 0 * x[:, :1])
    a_l, pl, ql, a_b, pb, qb = z, z + 1, z, z, z, z + 1
    srr = srd = srg = sdd = sdg = sgg = z
    for t in range(x.shape[1]):
        mt = m[:, t: t + 1]
        c, d, g = a_l + phi * a_b, pl + phi * pb, ql + phi * qb
        r = x[:, t: t + 1] - c
        srr, srd, srg = srr + mt * r * r, srd + mt * r * d, srg + mt * r * g
        sdd, sdg, sgg = sdd + mt * d * d, sdg + mt * d * g, sgg + mt * g * g
        on = mt > 0
        a_l, pl, ql, a_b, pb, qb = (torch.where(on, new, old) for new, old in (
            (c + al * r, a_l), (d * (1 - al), pl), (g * (1 - al), ql),
            (phi * a_b + ab * r, a_b), (phi * pb - ab * d, pb), (phi * qb - ab * g, qb)))
    a22 = sgg + ridge
    det = sdd * a22 - sdg * sdg
    l0, b0 = (a22 * srd - sdg * srg) / det, (sdd * srg - sdg * srd) / det
    sse = srr - 2 * (l0 * srd + b0 * srg) + l0 * l0 * sdd + 2 * l0 * b0 * sdg + b0 * b0 * sgg
    return sse, a_l + pl * l0 + ql * b0, a_b + pb * l0 + qb * b0


def damped_fitted(panel, h, season, iters: int = 60, lo: float = 0.8, hi: float = 0.98):
    x, factors = seasonally_adjusted(panel, h, season, True)
    m = panel.mask.double()
    scale = ((x.abs() * m).sum(1) / panel.lengths.double().clamp(min=1)).clamp(min=1e-12)[:, None]
    x = x / scale
    S, G = x.shape[0], D.GRID
    start = G[_profile(x, m, *(v[None].expand(S, -1) for v in (G[:, 0], G[:, 0] * G[:, 1], G[:, 2])))[0].argmin(1)]

    def logit(p):
        p = p.clamp(1e-4, 1 - 1e-4)
        return torch.log(p / (1 - p))

    def params(u):
        s = torch.sigmoid(u)
        al = 0.001 + 0.998 * s[:, :1]
        return al, al * s[:, 1:2], lo + (hi - lo) * s[:, 2:3]

    u0 = torch.stack([logit((start[:, 0] - 0.001) / 0.998), logit(start[:, 1]), logit((start[:, 2] - lo) / (hi - lo))], 1)
    u = u0.clone().requires_grad_(True)
    opt = torch.optim.Adam([u], lr=0.1)
    for _ in range(iters):
        opt.zero_grad()
        _profile(x, m, *params(u))[0].sum().backward()
        opt.step()
    with torch.no_grad():  # per series the better (lower SSE) of the grid's start and the end
        s1, l1, b1 = _profile(x, m, *params(u))
        s0, l0, b0 = _profile(x, m, *params(u0))
        keep = s1 <= s0
        level, trend = torch.where(keep, l1, l0), torch.where(keep, b1, b0)
        ph = params(torch.where(keep, u, u0))[2]
    steps = torch.arange(1, h + 1, dtype=torch.float64)[None, :]
    return (level + ph * (1 - ph ** steps) / (1 - ph) * trend) * scale * factors


def holt_winters(panel, h, season, iters: int = 80, lo: float = 0.8, hi: float = 0.98):
    """Damped Holt-Winters on the log scale, ETS(A,Ad,A) of log y: every parameter (alpha, beta <= alpha,
    gamma <= 1 - alpha, phi in [lo, hi]) and initial state (level, trend, the m seasonal states, from the
    classical indices) fitted per series, the whole panel at once (Adam on the one-step squared log errors).
    Without a season (m < 2): the damped partner as it is."""
    if season < 2:
        return D.damped_forecast(panel, h, season, True)
    S, T = panel.values.shape
    mask, m = panel.mask, season
    y = torch.log(panel.values.double().clamp(min=1e-12)) * mask  # (S, T)
    idx = seasonal_indices(panel, m, min_cycles=2).double()  # (S, m), by column phase
    first = mask.float().argmax(1)
    rows = torch.arange(S)
    l_init = y[rows, first] - idx[rows, first % m]
    u = torch.logit(torch.tensor([0.3, 0.1, 0.1, 0.5], dtype=torch.float64)).repeat(S, 1).requires_grad_(True)
    dl, b0 = (torch.zeros(S, dtype=torch.float64, requires_grad=True) for _ in range(2))
    ds = torch.zeros(S, m, dtype=torch.float64, requires_grad=True)

    def run():
        s = torch.sigmoid(u)
        al = 0.001 + 0.998 * s[:, 0]
        be, ga, ph = al * s[:, 1], (1 - al) * s[:, 2], lo + (hi - lo) * s[:, 3]
        lev, tr, seas = l_init + dl, b0, [idx[:, p] + ds[:, p] for p in range(m)]
        sse = torch.zeros(S, dtype=torch.float64)
        for t in range(T):
            on, p = mask[:, t], t % m
            e = torch.where(on, y[:, t] - (lev + ph * tr + seas[p]), torch.zeros(S, dtype=torch.float64))
            sse = sse + e * e
            lev, tr = torch.where(on, lev + ph * tr + al * e, lev), torch.where(on, ph * tr + be * e, tr)
            seas[p] = torch.where(on, seas[p] + ga * e, seas[p])
        return sse, lev, tr, seas, ph

    opt = torch.optim.Adam([u, dl, b0, ds], lr=0.05)
    for _ in range(iters):
        opt.zero_grad()
        run()[0].sum().backward()
        opt.step()
    with torch.no_grad():
        _, lev, tr, seas, ph = run()
        steps = torch.arange(1, h + 1, dtype=torch.float64)[None, :]
        damp = ph[:, None] * (1 - ph[:, None] ** steps) / (1 - ph[:, None])
        return torch.exp(lev[:, None] + damp * tr[:, None] + torch.stack([seas[(T + k) % m] for k in range(h)], 1))


VARIANTS = {
    "damped": lambda p, h, m: D.damped_forecast(p, h, m, True),
    "fine": damped_with_grid(_grid(np.round(np.linspace(0.02, 0.98, 17), 3).tolist(),
                                   (0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6),
                                   (0.8, 0.84, 0.88, 0.91, 0.94, 0.96, 0.98))),
    "fit": damped_fitted,
    "phi1": damped_with_grid(_grid(D._ALPHA, D._BETA, (*D._PHI, 0.9999))),
    "hw": holt_winters,
}


ETS_PRIOR4 = (0.6, 0.1, 0.1, 0.2)  # RNN, Theta, damped, AutoETS: stated before scoring (RESULTS, ninth session)


def autoets(path: Path) -> torch.Tensor:
    """(S, H) AutoETS's forecasts of the window in ``path`` (any seed's file), from the cache if there."""
    cache = path.parent / f"autoets_{path.name.rsplit('_', 1)[0]}.npy"
    if cache.exists():
        return torch.tensor(np.load(cache), dtype=torch.float64)
    z = np.load(path, allow_pickle=True)
    hist = {str(u): x.astype(float) for u, x in zip(z["ids"], z["hist"])}
    fc = stats_forecasts(hist, z["actual"].shape[1], int(z["season"]), ["ets"])["ets"]
    out = np.stack([fc[u] for u in hist])
    np.save(cache, out)
    return torch.tensor(out, dtype=torch.float64)


def _ets_rule(kind: str):
    def rule(Fi, yi, sc, Fv, ctx):
        ei, ev = autoets(ctx["paths"][0])[None], autoets(ctx["paths"][1])[None]
        if kind == "autoets":
            return ev[0], "AutoETS alone"
        if kind == "ets":
            Fi, Fv, prior = torch.cat([Fi[:2], ei]), torch.cat([Fv[:2], ev]), PRIOR
        else:
            Fi, Fv, prior = torch.cat([Fi, ei]), torch.cat([Fv, ev]), ETS_PRIOR4
        w = choose_weights(Fi, yi, sc, torch.tensor(prior, dtype=torch.float64), loss="geometric")
        return torch.einsum("k,ksh->sh", w, Fv), "w " + "/".join(f"{x:.3f}" for x in w)
    return rule


ETS_RULES = {k: _ets_rule(k) for k in ("ets", "ets4", "autoets")}

ANA_PRIOR4 = (0.6, 0.2, 0.2, 0.0)  # RNN, Theta, damped, ETS(A,N,A): stated before scoring (24th session's rule)


def ets_ana(path: Path) -> torch.Tensor:
    """(S, H) statsforecast's ETS(A,N,A) (``AutoETS(model="ANA")``, Naive where a series is too short for it)
    of the window in ``path`` (any seed's file), from the cache if there."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive

    cache = path.parent / f"ana_{path.name.rsplit('_', 1)[0]}.npy"
    if cache.exists():
        return torch.tensor(np.load(cache), dtype=torch.float64)
    z = np.load(path, allow_pickle=True)
    h, m = z["actual"].shape[1], int(z["season"])
    frame = pd.concat([pd.DataFrame({"unique_id": f"k{i:05d}", "ds": np.arange(len(x)), "y": x.astype(float)})
                       for i, x in enumerate(z["hist"])], ignore_index=True)
    sf = StatsForecast(models=[AutoETS(season_length=m, model="ANA", alias="ana")], freq=1, n_jobs=1,
                       fallback_model=Naive())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = sf.forecast(df=frame, h=h)
    out = fc.sort_values(["unique_id", "ds"])["ana"].to_numpy(float).reshape(len(z["hist"]), h)
    np.save(cache, out)
    return torch.tensor(out, dtype=torch.float64)


def ana4(Fi, yi, sc, Fv, ctx):
    """gmase (today's rule) with ETS(A,N,A) as a 4th component, prior ``ANA_PRIOR4`` (24th session)."""
    Fi, Fv = torch.cat([Fi, ets_ana(ctx["paths"][0])[None]]), torch.cat([Fv, ets_ana(ctx["paths"][1])[None]])
    w = choose_weights(Fi, yi, sc, torch.tensor(ANA_PRIOR4, dtype=torch.float64), loss="geometric")
    return torch.einsum("k,ksh->sh", w, Fv), "w " + "/".join(f"{x:.3f}" for x in w)


def win2(Fi, yi, sc, Fv, ctx):
    """gmase with the rows of the inner and inner2 windows pooled (module doc)."""
    inner = ctx["paths"][0]
    F2, y2, p2, m, _ = _window(inner.with_name(inner.name.replace("_inner_", "_inner2_")), "damped")
    F, y = torch.cat([Fi, F2], dim=1), torch.cat([yi, y2])
    s = torch.cat([sc, mase_scales(p2.values, p2.mask, m)])
    w = choose_weights(F, y, s, torch.tensor(PRIOR, dtype=torch.float64), loss="geometric")
    return torch.einsum("k,ksh->sh", w, Fv), "w " + "/".join(f"{x:.3f}" for x in w)


def ana4t(Fi, yi, sc, Fv, ctx):
    """ana4 with rnnkit's own ETS(A,N,A) (``combine.partner_forecasts``: tensor ops, the option seasonal_ets)
    in place of statsforecast's."""
    from rnnkit.tasks.forecast.combine import partner_forecasts

    ets = [partner_forecasts(pan, ctx["h"], ctx["m"], True, 3)[2] for pan in (ctx["pi"], ctx["pv"])]
    Fi, Fv = torch.cat([Fi, ets[0][None]]), torch.cat([Fv, ets[1][None]])
    w = choose_weights(Fi, yi, sc, torch.tensor(ANA_PRIOR4, dtype=torch.float64), loss="geometric")
    return torch.einsum("k,ksh->sh", w, Fv), "w " + "/".join(f"{x:.3f}" for x in w)


ALL_RULES = {**RULES, **ETS_RULES, "win2": win2, "ana4": ana4, "ana4t": ana4t}

_PARTNERS: dict = {}  # (variant, file without the seed) -> (Theta, variant) forecasts: the same for every seed


def _window(path: Path, variant: str):
    z = np.load(path, allow_pickle=True)
    season, h = int(z["season"]), z["actual"].shape[1]
    frame = pd.concat([pd.DataFrame({"unique_id": u, "y": x.astype(float)}) for u, x in zip(z["ids"], z["hist"])])
    panel = long_to_panel(frame, "unique_id", "y")
    key = (variant, path.name.rsplit("_", 1)[0])
    if key not in _PARTNERS:
        _PARTNERS[key] = (theta_forecast(panel, h, season, True).double(), VARIANTS[variant](panel, h, season).double())
    comps = torch.stack([torch.tensor(z["rnn"], dtype=torch.float64), *_PARTNERS[key]])  # (3, S, h)
    return comps, torch.tensor(z["actual"], dtype=torch.float64), panel, season, z["hist"]


def score(src: Path, sets: list[str], seeds: list[int], variants: list[str],
          pair: tuple[str, str] = ("inner", "val")) -> None:
    res = {}  # (variant, set, seed) -> (sMAPE, MASE, what the rule chose)
    for v in variants:
        partner, rule = (v, RULES["weights"]) if v in VARIANTS else ("damped", ALL_RULES[v])
        for name in sets:
            for seed in seeds:
                Fi, yi, panel, m, _ = _window(src / f"{name}_{pair[0]}_{seed}.npz", partner)
                Fv, y, pv, m, hist = _window(src / f"{name}_{pair[1]}_{seed}.npz", partner)
                h = yi.shape[1]
                ctx = {"fi": seasonally_adjusted(panel, h, m, True)[1], "fv": seasonally_adjusted(pv, h, m, True)[1],
                       "pi": panel, "pv": pv, "h": h, "m": m,
                       "paths": (src / f"{name}_{pair[0]}_{seed}.npz", src / f"{name}_{pair[1]}_{seed}.npz")}
                f, note = rule(Fi, yi, mase_scales(panel.values, panel.mask, m), Fv, ctx)
                f = f.clamp(min=1e-12).numpy()
                yv = y.numpy()
                sc = np.array([mase_scale(x, m) for x in hist])
                ok = np.isfinite(sc) & (sc > 0)
                res[v, name, seed] = (float((200 * np.abs(f - yv) / (np.abs(f) + np.abs(yv))).mean()),
                                      float((np.abs(f - yv).mean(1)[ok] / sc[ok]).mean()), note)
            print(f"# {v} {name}: " + ", ".join(f"seed {s} {res[v, name, s][0]:.3f} / {res[v, name, s][1]:.4f} "
                                                + res[v, name, s][2] for s in seeds), file=sys.stderr, flush=True)
    ref = variants[0]  # the mean MASE column is relative to the first variant listed
    print("| variant | " + " | ".join(sets) + f" | sum sMAPE per seed | mean MASE / {ref}'s per seed |")
    print("|---|" + "---|" * (len(sets) + 2))
    for v in variants:
        cells = [f"{np.mean([res[v, n, s][0] for s in seeds]):.2f} / {np.mean([res[v, n, s][1] for s in seeds]):.3f}" for n in sets]
        tot = " / ".join(f"{sum(res[v, n, s][0] for n in sets):.2f}" for s in seeds)
        rel = " / ".join(f"{np.mean([res[v, n, s][1] / res[ref, n, s][1] for n in sets]):.4f}" for s in seeds)
        print(f"| {v} | " + " | ".join(cells) + f" | {tot} | {rel} |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--collect", metavar="DIR", type=Path)
    g.add_argument("--score", metavar="DIR", type=Path)
    p.add_argument("--sets", default="all",
                   help=f"comma list of {', '.join(SETS)} or 'all' (the seven M1 / M3 sets)")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--windows", default="inner,val", help="--collect: comma list of inner, val, inner2; "
                   "--score: the window the rules choose on, then the window scored "
                   "(inner2,inner: one step earlier)")
    p.add_argument("--options", default="{}", type=json.loads,
                   help='--collect: Forecaster options as JSON, e.g. \'{"loss_scale": "mase"}\'')
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help=f"comma list of {', '.join(VARIANTS)} (partners), {', '.join(RULES)} "
                        f"(rules, bench_forecast_rules.py), {', '.join(ETS_RULES)} (AutoETS) or win2; "
                        "the MASE column is relative to the first")
    a = p.parse_args(argv)
    sets = M_SETS if a.sets == "all" else a.sets.split(",")
    for n in sets:
        if n not in SETS:
            p.error(f"--sets: unknown set {n!r}; choose from {', '.join(SETS)}")
    variants = a.variants.split(",")
    for v in variants:
        if v not in VARIANTS and v not in ALL_RULES:
            p.error(f"--variants: unknown variant {v!r}; choose from {', '.join((*VARIANTS, *ALL_RULES))}")
    seeds = [int(s) for s in a.seeds.split(",")]
    torch.set_num_threads(1)
    if a.collect:
        collect(a.collect, sets, seeds, a.options, tuple(a.windows.split(",")))
    else:
        score(a.score, sets, seeds, variants, tuple(a.windows.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
