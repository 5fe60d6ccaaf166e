"""Interval bands scaled to their nominal coverage on the window `Forecaster.fit` holds out
(split-conformal calibration; option ``intervals="conformal"``, off by default: on the M panels
it moved the coverage away from the nominal, benchmarks/RESULTS_forecast.md, thirteenth session).

The RNN's quantiles are fitted by the pinball loss on training windows. Where the data are
few (one short series, a small panel) the network fits those windows closely and its bands
come out far too narrow: fitted on one series at a time, the 80 % band covered 0.17-0.48 of
the held-out points on four M3 sets (benchmarks/RESULTS_forecast.md, thirteenth session).
`fit` already holds out the last H points of every series to choose the combination weights
(``combine.held_out``); the same window measures how wide each band has to be.

For a level l with band [lo, hi] around the median f (all after the combination), every
held-out point y gets the factor by which its half-band must be stretched to reach it, on
the log scale when the panel is positive, else on the linear scale:

    d = log y - log f                    (linear: y - f)
    r = d / (log hi - log f)   if d > 0   (linear: d / (hi - f))
        -d / (log f - log lo)  otherwise  (linear: -d / (f - lo))
    c_l = the ceil((n + 1) l / 100)-th smallest of the n scores r (the largest when that is past n)

and ``predict`` scales both half-bands of level l by c_l: lo' = f (lo / f)^c_l,
hi' = f (hi / f)^c_l (linear: f ± c_l (f − lo), …). This is split conformal prediction with
the pinball quantiles as the base band (Romano, Patterson and Candès 2019, "Conformalized
quantile regression", with a multiplicative instead of an additive correction): with n
exchangeable scores the band covers at least l % of a new point. c_l is clipped to
[1/10, 10]; points whose half-band has no width (a constant series) are left out, and a level
with no scored point keeps c_l = 1. One factor per level for the whole panel: pooled over
series and steps, so the RNN's own widening with the step and across series is kept.
"""

from __future__ import annotations

import math

import torch

__all__ = ["CLIP", "band_scales", "saved_scales", "scale_bands"]

CLIP = (0.1, 10.0)


def _columns(qi: dict[float, int], lv: int) -> tuple[int, int]:
    """The (lower, upper) quantile columns of level lv, qi mapping each quantile to its column."""
    return qi[round(0.5 - lv / 200, 6)], qi[round(0.5 + lv / 200, 6)]


def _half_widths(q: torch.Tensor, lo: int, mid: int, hi: int, log: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(f, width below, width above), each (S, H), on the scale the bands are scaled on."""
    f = q[..., mid]
    if log:
        lf = torch.log(f.clamp(min=1e-300))
        return lf, lf - torch.log(q[..., lo].clamp(min=1e-300)), torch.log(q[..., hi].clamp(min=1e-300)) - lf
    return f, f - q[..., lo], q[..., hi] - f


def band_scales(q: torch.Tensor, actual: torch.Tensor, quantiles: tuple[float, ...], levels: tuple[int, ...],
                log: bool) -> dict[int, float]:
    """{level: c_l} from the combined quantiles q (S, H, Q) of the held-out window and its values (S, H)."""
    q, y = q.double(), actual.double()
    qi = {round(t, 6): i for i, t in enumerate(quantiles)}
    mid, out = qi[0.5], {}
    for lv in levels:
        lo, hi = _columns(qi, lv)
        f, below, above = _half_widths(q, lo, mid, hi, log)
        d = (torch.log(y.clamp(min=1e-300)) if log else y) - f
        width = torch.where(d > 0, above, below)
        ok = torch.isfinite(d) & torch.isfinite(width) & (width > 1e-12) & ((y > 0) if log else True)
        r = (d.abs() / width.clamp(min=1e-12))[ok]
        if r.numel() == 0:
            out[lv] = 1.0
            continue
        k = min(math.ceil((r.numel() + 1) * lv / 100), r.numel())  # 1-based rank
        c = float(torch.sort(r).values[k - 1])
        out[lv] = min(max(c, CLIP[0]), CLIP[1])
    return out


def scale_bands(q: torch.Tensor, scales: dict[int, float], quantiles: tuple[float, ...], log: bool) -> torch.Tensor:
    """q (S, H, Q) with each level's half-bands stretched by its factor (the median unchanged), the
    quantiles sorted again so that a wider level's band contains a narrower one's."""
    if not scales:
        return q
    q = q.clone()
    qi = {round(t, 6): i for i, t in enumerate(quantiles)}
    mid = qi[0.5]
    for lv, c in scales.items():
        lo, hi = _columns(qi, lv)
        f, below, above = _half_widths(q, lo, mid, hi, log)
        if log:  # f (lo / f)^c, written on the log scale
            q[..., lo], q[..., hi] = torch.exp(f - c * below), torch.exp(f + c * above)
        else:
            q[..., lo], q[..., hi] = f - c * below, f + c * above
    return q.sort(dim=-1).values


def saved_scales(saved, levels: tuple[int, ...]) -> dict[int, float]:
    """A saved {level: factor} checked (trained levels, positive finite factors; ValueError otherwise);
    {} for a model saved before calibration, whose bands stay raw."""
    try:
        out = {int(k): float(v) for k, v in (saved or {}).items()}
    except (AttributeError, TypeError, ValueError):
        out = None
    if out is None or not all(k in levels and 0 < v < math.inf for k, v in out.items()):
        raise ValueError(f"band_scales must map trained levels to positive numbers, got {saved!r}")
    return out
