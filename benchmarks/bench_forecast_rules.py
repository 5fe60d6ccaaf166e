"""Combination rules scored offline by ``bench_forecast_partners.py --score`` (seventh session).

Every rule sees the three components on the inner window, Fi (3, S, H) = (RNN, Theta,
damped), its actual values yi (S, H), the series' MASE scales sc (S,), and the same
components on the window to forecast, Fv (3, S, H); ``ctx`` holds each window's seasonal
factors (S, H) (``theta.seasonally_adjusted``: ones where the season is not significant).
It returns the combined forecast (S, H) and a short text of what it chose.

    weights   the rule before this session: one weight vector per panel (select.choose_weights:
              simplex grid, mean MASE (loss="mean"), halfway to the prior 0.6 / 0.2 / 0.2); every
              rule below but gmase chooses its weights this way
    hblockB   one weight vector per block of the horizon (B consecutive blocks, np.array_split
              of 1..H), each chosen on that block of the inner window and shrunk halfway to the
              prior as today: the RNN is the best component at h = 1-2, the damped trend later
    rdamp     the RNN's path damped toward its own first step before it is combined,
                  a_h = f_h / s_h                        (s: seasonal factors)
                  a'_h = a_1 + sum_{j=1}^{h-1} phi^j (a_{j+1} - a_j),   f'_h = a'_h s_h
              phi in PHIS chosen on the inner window for the panel by the MASE of the RNN
              alone; then the weights as today (phi = 1 is today's RNN)
    rdampj    the same, phi chosen jointly with the weights: the phi whose grid-best weight
              vector gives the smallest inner MASE
    hblockB+rdampj   both
    flatdamp  rdamp on the flattest third of the series only (``trend_strength`` below its lower
              tercile on each window), phi chosen on the inner window's flat third by the MASE of
              the RNN alone; then the weights as today. On the flat third the damped RNN path was
              better than the RNN's on the val window of all seven sets (seed 0, phi 0.9), on the
              other two thirds mostly worse: a series with no recent trend gets none extrapolated
    flatdampj the same, phi chosen jointly with the weights (as rdampj)
    flatdamp.8  flatdamp with phi fixed at 0.8 (how much there is to gain, not a rule)
    ses4      simple exponential smoothing (theta.py's SES on the seasonally adjusted series, the
              season put back) as a 4th component, prior weight 0: the only trend-free forecast
              (AutoETS chose ANN / MNN on 62 of M3 other's 174 validation series), for the flat
              series on which the RNN and both partners extrapolate a trend
    gmase     today's rule, but w* by the geometric mean of the series' MASE (mean log) instead of
              the arithmetic mean: a few series with large errors on the one inner window (the test
              gap of M3 other is ten series) weigh less than what most series say
    bag       today's weights, but w* averaged over 50 bootstrap resamples of the inner window's
              series before the halfway shrinkage (a smoother choice than one argmin)
    med3      (fifteenth session) the per-point median of the three components, no weights: a
              robust combination that limits one component's excursion
    medsel    gmase's weighted mean or med3 for the panel, whichever has the lower geometric mean
              of the series' MASE on the inner window
"""

from __future__ import annotations

import numpy as np
import torch

from rnnkit.tasks.forecast.combine import PRIOR
from rnnkit.tasks.forecast.select import choose_weights, simplex_grid
from rnnkit.tasks.forecast.theta import _ses, seasonally_adjusted

PHIS = (0.8, 0.85, 0.9, 0.95, 0.98, 1.0)
_PRIOR = torch.tensor(PRIOR, dtype=torch.float64)


def damp_path(f: torch.Tensor, factors: torch.Tensor, phi: float) -> torch.Tensor:
    """(S, H) the path f (S, H) damped toward its first step on the seasonally adjusted scale (module doc)."""
    a = f / factors
    H = a.shape[1]
    if H < 2 or phi == 1.0:
        return f
    pw = torch.tensor([phi ** j for j in range(1, H)], dtype=torch.float64)  # (H - 1,)
    steps = torch.cumsum((a[:, 1:] - a[:, :-1]) * pw, dim=1)  # (S, H - 1)
    return torch.cat([a[:, :1], a[:, :1] + steps], 1) * factors


def _loss(F: torch.Tensor, y: torch.Tensor, sc: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    """(G,) mean MASE of every simplex-grid combination of F (K, S, H), series ``ok`` only."""
    grid = simplex_grid(F.shape[0])  # (G, K)
    f = torch.einsum("gk,ksh->gsh", grid, F[:, ok])
    return ((f - y[ok]).abs().mean(2) / sc[ok]).mean(1)


def _ok(F, y, sc):
    return torch.isfinite(sc) & torch.isfinite(y).all(1) & torch.isfinite(F).all(2).all(0)


def weights(Fi, yi, sc, Fv, ctx):
    w = choose_weights(Fi, yi, sc, _PRIOR, loss="mean")
    return torch.einsum("k,ksh->sh", w, Fv), "w " + "/".join(f"{x:.3f}" for x in w)


def hblock(nb: int, inner_rule=weights):
    def rule(Fi, yi, sc, Fv, ctx):
        out, notes = torch.empty_like(Fv[0]), []
        for b in np.array_split(np.arange(Fi.shape[2]), nb):
            if len(b) == 0:
                continue
            w = choose_weights(Fi[:, :, b], yi[:, b], sc, _PRIOR, loss="mean")
            out[:, b] = torch.einsum("k,ksh->sh", w, Fv[:, :, b])
            notes.append(f"h{b[0] + 1}-{b[-1] + 1} " + "/".join(f"{x:.2f}" for x in w))
        return out, " ".join(notes)
    return rule


def _phi_alone(Fi, yi, sc, ctx):
    ok = _ok(Fi, yi, sc)
    loss = [((damp_path(Fi[0], ctx["fi"], p) - yi)[ok].abs().mean(1) / sc[ok]).mean() for p in PHIS]
    return PHIS[int(torch.argmin(torch.stack(loss)))]


def _phi_joint(Fi, yi, sc, ctx):
    ok = _ok(Fi, yi, sc)
    loss = []
    for p in PHIS:
        F = Fi.clone()
        F[0] = damp_path(Fi[0], ctx["fi"], p)
        loss.append(_loss(F, yi, sc, ok).min())
    return PHIS[int(torch.argmin(torch.stack(loss)))]


def rdamp(choose_phi, then=weights):
    def rule(Fi, yi, sc, Fv, ctx):
        phi = choose_phi(Fi, yi, sc, ctx)
        Fi, Fv = Fi.clone(), Fv.clone()
        Fi[0], Fv[0] = damp_path(Fi[0], ctx["fi"], phi), damp_path(Fv[0], ctx["fv"], phi)
        f, note = then(Fi, yi, sc, Fv, ctx)
        return f, f"phi {phi} {note}"
    return rule


def trend_strength(panel, h: int, season: int) -> torch.Tensor:
    """(S,) |OLS slope| over the last max(3h, 6) observed, seasonally adjusted points, times h,
    over their mean absolute level: how far the recent trend moves a series in one horizon."""
    x = seasonally_adjusted(panel, h, season, True)[0]
    out = []
    for s in range(x.shape[0]):
        v = x[s][panel.mask[s]].numpy()[-max(3 * h, 6):]
        b = np.polyfit(np.arange(len(v)), v, 1)[0] if len(v) > 1 else 0.0
        out.append(abs(b) * h / max(np.abs(v).mean(), 1e-12))
    return torch.tensor(out, dtype=torch.float64)


def _flat(ctx, key):
    if key not in ctx:
        w = "i" if key == "flati" else "v"
        t = trend_strength(ctx["p" + w], ctx["h"], ctx["m"])
        ctx[key] = t <= torch.quantile(t, 1 / 3)
    return ctx[key]


def _damp_flat(F, fac, flat, phi):
    F = F.clone()
    F[0] = torch.where(flat[:, None], damp_path(F[0], fac, phi), F[0])
    return F


def flatdamp(joint: bool, fixed: float | None = None):
    def rule(Fi, yi, sc, Fv, ctx):
        fi, fv = _flat(ctx, "flati"), _flat(ctx, "flatv")
        ok = _ok(Fi, yi, sc)
        if fixed is not None:
            phi = fixed
        elif joint:
            phi = PHIS[int(torch.argmin(torch.stack([_loss(_damp_flat(Fi, ctx["fi"], fi, p), yi, sc, ok).min() for p in PHIS])))]
        else:
            o = ok & fi
            phi = PHIS[int(torch.argmin(torch.stack([((damp_path(Fi[0], ctx["fi"], p) - yi)[o].abs().mean(1) / sc[o]).mean()
                                                     for p in PHIS])))]
        f, note = weights(_damp_flat(Fi, ctx["fi"], fi, phi), yi, sc, _damp_flat(Fv, ctx["fv"], fv, phi), ctx)
        return f, f"phi {phi} {note}"
    return rule


def bag(Fi, yi, sc, Fv, ctx, n: int = 50):
    ok = _ok(Fi, yi, sc)
    idx = torch.nonzero(ok)[:, 0]
    grid = simplex_grid(Fi.shape[0])
    gen = torch.Generator().manual_seed(0)
    e = ((torch.einsum("gk,ksh->gsh", grid, Fi[:, idx]) - yi[idx]).abs().mean(2) / sc[idx])  # (G, S')
    ws = [grid[int(torch.argmin(e[:, torch.randint(len(idx), (len(idx),), generator=gen)].mean(1)))] for _ in range(n)]
    w = 0.5 * torch.stack(ws).mean(0) + 0.5 * _PRIOR
    return torch.einsum("k,ksh->sh", w, Fv), "w " + "/".join(f"{x:.3f}" for x in w)


def ses_forecast(panel, h: int, season: int) -> torch.Tensor:
    y, factors = seasonally_adjusted(panel, h, season, True)
    return _ses(y, panel.mask.double())[0][:, None] * factors  # (S, H)


def ses4(Fi, yi, sc, Fv, ctx):
    Fi = torch.cat([Fi, ses_forecast(ctx["pi"], ctx["h"], ctx["m"])[None]])
    Fv = torch.cat([Fv, ses_forecast(ctx["pv"], ctx["h"], ctx["m"])[None]])
    w = choose_weights(Fi, yi, sc, torch.tensor((*PRIOR, 0.0), dtype=torch.float64), loss="mean")
    return torch.einsum("k,ksh->sh", w, Fv), "w " + "/".join(f"{x:.3f}" for x in w)


def gmase(Fi, yi, sc, Fv, ctx):  # select.choose_weights's loss="geometric" (the default since this session)
    w = choose_weights(Fi, yi, sc, _PRIOR, loss="geometric")
    return torch.einsum("k,ksh->sh", w, Fv), "w " + "/".join(f"{x:.3f}" for x in w)


def med3(Fi, yi, sc, Fv, ctx):  # fifteenth session: the per-point median of the three components
    return Fv.median(dim=0).values, "median"


def _gmean_mase(f, y, sc):
    ok = torch.isfinite(sc) & torch.isfinite(y).all(1) & torch.isfinite(f).all(1)
    return float(torch.log(((f - y).abs().mean(1)[ok] / sc[ok]).clamp(min=1e-6)).mean())


def medsel(Fi, yi, sc, Fv, ctx):  # gmase's weighted mean or med3, whichever is better on the inner window
    w = choose_weights(Fi, yi, sc, _PRIOR, loss="geometric")
    if _gmean_mase(Fi.median(dim=0).values, yi, sc) < _gmean_mase(torch.einsum("k,ksh->sh", w, Fi), yi, sc):
        return Fv.median(dim=0).values, "median"
    return torch.einsum("k,ksh->sh", w, Fv), "w " + "/".join(f"{x:.3f}" for x in w)


RULES = {
    "weights": weights,
    "hblock2": hblock(2),
    "hblock3": hblock(3),
    "rdamp": rdamp(_phi_alone),
    "rdampj": rdamp(_phi_joint),
    "hblock3+rdampj": rdamp(_phi_joint, hblock(3)),
    "flatdamp": flatdamp(False),
    "flatdampj": flatdamp(True),
    "flatdamp.8": flatdamp(False, 0.8),
    "bag": bag,
    "ses4": ses4,
    "gmase": gmase,
    "med3": med3,
    "medsel": medsel,
}
