"""A global recurrent quantile forecaster: one GRU over segments of a scaled window.

(``cell="lstm"`` puts an LSTM where the GRU is; the Forecaster's option ``cell``, not its default.)

One network serves every series of a panel (a "global" model, as in DeepAR and ES-RNN):
each window is scaled by its own level first (``rnnkit.data.panel.scale_windows``), so
the network sees shapes, not magnitudes. The window of L points is cut into P = ceil(L/p)
segments of p points (left-padded; a segment-wise RNN as in SegRNN, Lin et al. 2023):
the GRU then runs P steps instead of L, which makes it p times cheaper on CPU, and each
step still sees the mask, so padded history is told apart from zeros.

    s_k  = [z_{(k-1)p+1..kp}, m_{(k-1)p+1..kp}]          segment k, (B, P, 2p)
    h    = GRU(s_1..s_P)  last hidden state               (B, Hid)
    q    = W_2 relu(W_1 h) + A z                          (B, H·Q): H horizons × Q quantiles

A (the linear "skip" from the raw window, zero-initialised) carries trends the GRU need
not relearn. The outputs are the quantiles tau_1..tau_Q of the scaled future, trained
with the pinball loss

    rho_tau(u) = max(tau u, (tau - 1) u),   u = z_future - q_tau,

averaged over horizons and quantiles. With tau = 0.5 this is the L1 loss, which on log
scaled windows is close to the relative (sMAPE-like) error of the M competitions.

MASE-scaled loss (option ``loss_scale``): a relative error makes a flat series, which moves
little relative to its level, contribute a tiny loss; MASE divides each series' errors by its
own in-sample (seasonal) naive error instead. Each window's loss can be weighted the same way,
from its scaled input only (``window_scales``, ``loss_weights``):

    s_b  = mean_t |z_t - z_{t-k}|  over observed pairs of the input,  k = m if the window holds
           at least m such pairs (2 seasons), else 1
    w_b  = clip(s_b, r / c, r c)^(-p),  normalised to mean 1 over the batch

r the panel's median s (``panel_scale``: the last window of every series that trains), c = 10
the floor/cap, p the power (1: MASE's own weighting). A window with no pair counts r.

Window normalisation (option ``window_norm="naive"``, ``norm_ref=r``): the network sees each
window in units of its own naive scale, as RevIN (Kim et al. 2022) sees it in units of its
standard deviation, and answers in those units:

    s_b  = clip(mean_t |z_t - z_{t-1}|, r / c, r c)   (r where the window has no pair)
    q    = s_b · (W_2 relu(W_1 [h, log(s_b / r)]) + A z / s_b),   h = GRU(segments of z / s_b)

The loss is unchanged (the pinball loss on z), so no series is weighted differently; what
changes is that a flat series and a volatile one of the same shape look the same to the GRU.

Shapes: B batch, L lookback, p segment length, P segments, H horizon, Q quantiles.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnnkit.models.layers import recurrent_layer

__all__ = ["GlobalRNN", "pinball_loss", "window_scales", "panel_scale", "loss_weights", "LOSS_SCALES"]

# option loss_scale -> (power p, seasonal lag allowed); None: the plain mean pinball loss
# ("mase-sqrt": the square root of MASE's weights, a softer variant measured beside it)
LOSS_SCALES: dict[str, tuple[float, bool]] = {"mase": (1.0, True), "mase-sqrt": (0.5, True)}


class GlobalRNN(nn.Module):
    def __init__(
        self, lookback: int, horizon: int, quantiles: tuple[float, ...], hidden: int = 64,
        layers: int = 1, segment: int = 1, n_past: int = 0, n_future: int = 0, n_static: int = 0,
        norm_ref: float | None = None, cell: str = "gru",
    ) -> None:
        super().__init__()
        self.lookback, self.horizon, self.segment = lookback, horizon, segment
        # covariates (rnnkit.tasks.forecast.covariates): n_past channels beside z and m in each
        # segment (past and known-future columns over the window), the n_future known-future
        # columns over the horizon and n_static per-series features beside the GRU's last state
        self.n_past, self.n_future, self.n_static = n_past, n_future, n_static
        self.n_segments = math.ceil(lookback / segment)
        self.register_buffer("quantiles", torch.tensor(quantiles, dtype=torch.float32))
        # window normalisation (module doc): r kept as a buffer, so a saved model carries it
        self.normed = norm_ref is not None
        if self.normed:
            self.register_buffer("norm_ref", torch.tensor(float(norm_ref), dtype=torch.float32))
        # rnnkit's own layer (backend "auto"); same state_dict names as torch.nn.GRU. At the
        # default shape (B 256, 8 steps, 64 units, one thread) training ran in 0.70 s of CPU
        # per 200 steps against torch.nn.GRU's 0.97 s (RESULTS_forecast.md).
        self.rnn = recurrent_layer(cell, (2 + n_past) * segment, hidden, backend="auto", num_layers=layers, batch_first=True)
        Q = len(quantiles)
        head_in = hidden + horizon * n_future + n_static + self.normed
        self.head = nn.Sequential(nn.Linear(head_in, hidden), nn.ReLU(), nn.Linear(hidden, horizon * Q))
        self.skip = nn.Linear(lookback, horizon * Q)
        nn.init.zeros_(self.skip.weight)
        nn.init.zeros_(self.skip.bias)

    def forward(self, z: torch.Tensor, m: torch.Tensor, past: torch.Tensor | None = None,
                future: torch.Tensor | None = None, static: torch.Tensor | None = None) -> torch.Tensor:
        """z, m (B, L) scaled window and its mask -> (B, H, Q) scaled quantiles.

        With covariates: past (B, L, n_past), future (B, H, n_future), static (B, n_static)."""
        B, L = z.shape
        if self.normed:
            r = self.norm_ref
            s = window_scales(z, m, 1, seasonal=False)  # (B,)
            s = torch.where(torch.isfinite(s), s, r).clamp(r / 10, r * 10)
            z = z / s[:, None]
            log_s = torch.log(s / r)[:, None]  # (B, 1): the head's extra input, after any static features
            static = log_s if static is None else torch.cat([static, log_s], dim=1)
        pad = self.n_segments * self.segment - L
        zp = nn.functional.pad(z, (pad, 0))  # (B, P·p)
        mp = nn.functional.pad(m.float(), (pad, 0))  # (B, P·p)
        parts = [zp.view(B, self.n_segments, self.segment), mp.view(B, self.n_segments, self.segment)]
        if self.n_past:
            cp = nn.functional.pad(past * m[..., None], (0, 0, pad, 0))  # (B, P·p, n_past), padding zeroed
            parts.append(cp.reshape(B, self.n_segments, self.segment * self.n_past))
        seq = torch.cat(parts, dim=-1)  # (B, P, (2 + n_past)·p)
        out, _ = self.rnn(seq)  # (B, P, Hid)
        h = out[:, -1]  # (B, Hid)
        if self.n_future or self.n_static or self.normed:
            extra = [t.reshape(B, -1) for t, n in ((future, self.n_future), (static, self.n_static + self.normed)) if n]
            h = torch.cat([h, *extra], dim=-1)  # (B, Hid + H·n_future + n_static [+ 1 normed])
        q = self.head(h) + self.skip(z)  # (B, H·Q)
        if self.normed:
            q = q * s[:, None]
        return q.view(B, self.horizon, -1)  # (B, H, Q)


def pinball_loss(q: torch.Tensor, y: torch.Tensor, quantiles: torch.Tensor,
                 weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean pinball loss of quantile forecasts q (B, H, Q) for targets y (B, H); with weight (B,),
    each window's mean loss times its weight, averaged over the batch."""
    u = y[..., None] - q  # (B, H, Q)
    rho = torch.maximum(quantiles * u, (quantiles - 1) * u)  # (B, H, Q)
    if weight is None:
        return rho.mean()
    return (rho.mean(dim=(1, 2)) * weight).mean()


def window_scales(z: torch.Tensor, m: torch.Tensor, season: int, seasonal: bool = True) -> torch.Tensor:
    """s_b (B,) of the module doc for scaled inputs z (B, L) and mask m (B, L); NaN without a pair."""
    mf = m.float()

    def lagged(k: int) -> tuple[torch.Tensor, torch.Tensor]:  # (sum of |z_t - z_{t-k}|, pairs), (B,) each
        if k >= z.shape[1]:
            return torch.zeros(len(z)), torch.zeros(len(z))
        both = mf[:, k:] * mf[:, :-k]  # (B, L - k)
        return ((z[:, k:] - z[:, :-k]).abs() * both).sum(1), both.sum(1)

    total, pairs = lagged(1)
    if seasonal and season > 1:
        ts, ps = lagged(season)
        use = ps >= season  # at least one full season of seasonal differences
        total, pairs = torch.where(use, ts, total), torch.where(use, ps, pairs)
    return torch.where(pairs > 0, total / pairs.clamp(min=1), torch.full_like(total, float("nan")))


def panel_scale(z: torch.Tensor, m: torch.Tensor, season: int, seasonal: bool = True) -> float | None:
    """r: the median of the positive, finite s_b of windows z, m (B, L); None if there is none."""
    s = window_scales(z, m, season, seasonal)
    s = s[torch.isfinite(s) & (s > 0)]
    return float(s.median()) if len(s) else None


def loss_weights(z: torch.Tensor, m: torch.Tensor, season: int, ref: float, power: float = 1.0,
                 seasonal: bool = True, cap: float = 10.0, normalise: bool = True) -> torch.Tensor:
    """w_b (B,) of the module doc: mean 1, each in [cap^-p, cap^p] times the batch's normaliser
    (normalise=False: clip(s_b)^-p alone, for a caller that normalises over a larger batch)."""
    s = window_scales(z, m, season, seasonal)
    s = torch.where(torch.isfinite(s), s, torch.full_like(s, ref)).clamp(ref / cap, ref * cap)
    w = s.pow(-power)
    return w / w.mean() if normalise else w
