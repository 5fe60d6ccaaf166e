"""A global recurrent quantile forecaster: one GRU over segments of a scaled window.

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

Shapes: B batch, L lookback, p segment length, P segments, H horizon, Q quantiles.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnnkit.models.layers import recurrent_layer

__all__ = ["GlobalRNN", "pinball_loss"]


class GlobalRNN(nn.Module):
    def __init__(
        self, lookback: int, horizon: int, quantiles: tuple[float, ...], hidden: int = 64,
        layers: int = 1, segment: int = 1, n_past: int = 0, n_future: int = 0, n_static: int = 0,
    ) -> None:
        super().__init__()
        self.lookback, self.horizon, self.segment = lookback, horizon, segment
        # covariates (rnnkit.tasks.forecast.covariates): n_past channels beside z and m in each
        # segment (past and known-future columns over the window), the n_future known-future
        # columns over the horizon and n_static per-series features beside the GRU's last state
        self.n_past, self.n_future, self.n_static = n_past, n_future, n_static
        self.n_segments = math.ceil(lookback / segment)
        self.register_buffer("quantiles", torch.tensor(quantiles, dtype=torch.float32))
        # rnnkit's own layer (backend "auto"); same state_dict names as torch.nn.GRU. At the
        # default shape (B 256, 8 steps, 64 units, one thread) training ran in 0.70 s of CPU
        # per 200 steps against torch.nn.GRU's 0.97 s (RESULTS_forecast.md).
        self.rnn = recurrent_layer("gru", (2 + n_past) * segment, hidden, backend="auto", num_layers=layers, batch_first=True)
        Q = len(quantiles)
        head_in = hidden + horizon * n_future + n_static
        self.head = nn.Sequential(nn.Linear(head_in, hidden), nn.ReLU(), nn.Linear(hidden, horizon * Q))
        self.skip = nn.Linear(lookback, horizon * Q)
        nn.init.zeros_(self.skip.weight)
        nn.init.zeros_(self.skip.bias)

    def forward(self, z: torch.Tensor, m: torch.Tensor, past: torch.Tensor | None = None,
                future: torch.Tensor | None = None, static: torch.Tensor | None = None) -> torch.Tensor:
        """z, m (B, L) scaled window and its mask -> (B, H, Q) scaled quantiles.

        With covariates: past (B, L, n_past), future (B, H, n_future), static (B, n_static)."""
        B, L = z.shape
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
        if self.n_future or self.n_static:
            extra = [t.reshape(B, -1) for t, n in ((future, self.n_future), (static, self.n_static)) if n]
            h = torch.cat([h, *extra], dim=-1)  # (B, Hid + H·n_future + n_static)
        q = self.head(h) + self.skip(z)  # (B, H·Q)
        return q.view(B, self.horizon, -1)  # (B, H, Q)


def pinball_loss(q: torch.Tensor, y: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss of quantile forecasts q (B, H, Q) for targets y (B, H)."""
    u = y[..., None] - q  # (B, H, Q)
    return torch.maximum(quantiles * u, (quantiles - 1) * u).mean()
