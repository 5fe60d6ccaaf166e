"""RNN forecaster: a recurrent encoder, a seasonal-naive base and a Gaussian head.

Each ensemble member reads a context window of ``context = input_len + season`` steps
of the transformed series z (B, context, C) and past covariates, and predicts for
j = 1..H a Gaussian N(mu_j, sigma_j^2) per target:

    d_t     = z_t - z_{t-m}                                  seasonal difference (m = season)
    h       = RNN([z_t, d_t, covariates_t] for the last input_len steps)    (B, Hid)
    base_j  = z_{T - m + ((j - 1) mod m) + 1}                seasonal-naive forecast
    mu_j    = base_j + W_mu [h, k_1..k_H] + A z_{T-L+1..T}   (A: linear "highway", zero init)
    sigma_j = softplus(W_sigma [h, k_1..k_H]) + 1e-3

k_j are the known-future covariates (calendar features) of the target steps. The network
only learns the correction to seasonal naive, which is what makes it work on series of a
few hundred points. ``residual="last"`` uses the last value as base (naive), ``"none"``
no base.

Strategies (``strategy``):

- ``direct`` (default): one head emits all H steps at once. No error feedback, one
  forward pass per forecast, and each step's interval is learned directly.
- ``recursive``: the head emits one step; forecasting feeds mu back H times (past
  covariates are held at their last value). Trained on one-step targets.
- ``seq2seq``: an encoder RNN summarises the context; a decoder RNN, started from its
  state, runs over the H target steps with inputs [k_j, base_j] and emits (mu_j, sigma_j).

``members`` > 1 trains an ensemble in one module (the loss is the members' mean, so each
member's gradients are those it would get alone); the forecast is the moment-matched
mixture: mu = mean_m mu_m, sigma^2 = mean_m (sigma_m^2 + mu_m^2) - mu^2.
Shapes: B batch, C targets, K past covariates, F known-future features, H horizon.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.errors import ConfigError
from rnnkit.models.layers import recurrent_layer

__all__ = ["RESIDUALS", "STRATEGIES", "RNNForecaster"]

STRATEGIES = ("direct", "recursive", "seq2seq")
RESIDUALS = ("seasonal", "last", "none")


class _Member(nn.Module):
    def __init__(
        self, c, k, f, input_len, horizon, season, hidden, layers, cell, strategy, residual, dropout
    ):
        super().__init__()
        self.c, self.f, self.input_len, self.horizon, self.season = c, f, input_len, horizon, season
        self.strategy, self.residual = strategy, residual
        self.steps = 1 if strategy == "recursive" else horizon
        drop = dropout if layers > 1 else 0.0
        self.encoder = recurrent_layer(
            cell, 2 * c + k, hidden, num_layers=layers, batch_first=True, dropout=drop
        )
        if strategy == "seq2seq":
            self.decoder = recurrent_layer(
                cell, f + c, hidden, num_layers=layers, batch_first=True, dropout=drop
            )
            self.out = nn.Linear(hidden, 2 * c)
        else:
            self.head = nn.Linear(hidden + self.steps * f, self.steps * 2 * c)
        self.skip = nn.Linear(input_len, self.steps)  # AR highway over the last input_len z
        nn.init.zeros_(self.skip.weight)
        nn.init.zeros_(self.skip.bias)

    def base(self, x: torch.Tensor, steps: int) -> torch.Tensor:
        """(B, context, C+K) -> the residual base (B, steps, C)."""
        z = x[..., : self.c]  # (B, context, C)
        if self.residual == "none":
            return torch.zeros(z.shape[0], steps, self.c, dtype=z.dtype, device=z.device)
        m = self.season if self.residual == "seasonal" else 1
        idx = [z.shape[1] - m + (j % m) for j in range(steps)]
        return z[:, idx]  # (B, steps, C)

    def forward(self, x: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, context, C+K), known (B, steps, F) -> mu, sigma (B, steps, C)."""
        b, m, c = x.shape[0], self.season, self.c
        z = x[..., :c]  # (B, context, C)
        d = z[:, m:] - z[:, :-m]  # (B, input_len, C)
        feats = torch.cat([z[:, m:], d, x[:, m:, c:]], dim=-1)  # (B, input_len, 2C+K)
        out, state = self.encoder(feats)  # (B, input_len, Hid)
        base = self.base(x, self.steps)  # (B, steps, C)
        if self.strategy == "seq2seq":
            dec, _ = self.decoder(torch.cat([known, base], dim=-1), state)  # (B, H, Hid)
            raw = self.out(dec).view(b, self.steps, 2, c)  # (B, H, 2, C)
        else:
            hk = torch.cat([out[:, -1], known.reshape(b, -1)], dim=-1)  # (B, Hid + steps*F)
            raw = self.head(hk).view(b, self.steps, 2, c)  # (B, steps, 2, C)
        ar = self.skip(z[:, -self.input_len :].transpose(1, 2)).transpose(1, 2)  # (B, steps, C)
        mu = base + raw[:, :, 0] + ar
        sigma = F.softplus(raw[:, :, 1]) + 1e-3
        return mu, sigma


class RNNForecaster(nn.Module):
    """Ensemble of ``members`` recurrent forecasters (see the module docstring)."""

    def __init__(
        self,
        n_targets: int = 1,
        n_past: int = 0,
        n_known: int = 0,
        input_len: int = 24,
        horizon: int = 12,
        season: int = 1,
        hidden_size: int = 32,
        num_layers: int = 1,
        cell: str = "gru",
        strategy: str = "direct",
        residual: str = "seasonal",
        dropout: float = 0.0,
        members: int = 1,
    ) -> None:
        super().__init__()
        for name, value, allowed in (
            ("strategy", strategy, STRATEGIES),
            ("residual", residual, RESIDUALS),
        ):
            if value not in allowed:
                raise ConfigError(
                    f"model.{name} must be one of {', '.join(allowed)}, got {value!r}"
                )
        for name, value in (
            ("input_len", input_len),
            ("horizon", horizon),
            ("season", season),
            ("hidden_size", hidden_size),
            ("members", members),
            ("n_targets", n_targets),
        ):
            if int(value) < 1:
                raise ConfigError(f"model.{name} must be >= 1, got {value!r}")
        self.model_config = dict(
            n_targets=n_targets,
            n_past=n_past,
            n_known=n_known,
            input_len=input_len,
            horizon=horizon,
            season=season,
            hidden_size=hidden_size,
            num_layers=num_layers,
            cell=cell,
            strategy=strategy,
            residual=residual,
            dropout=dropout,
            members=members,
        )
        self.horizon, self.strategy, self.n_targets = horizon, strategy, n_targets
        self.context = input_len + season
        self.members = nn.ModuleList(
            _Member(
                n_targets,
                n_past,
                n_known,
                input_len,
                horizon,
                season,
                hidden_size,
                num_layers,
                cell,
                strategy,
                residual,
                dropout,
            )
            for _ in range(members)
        )

    def _member_forecast(self, member: _Member, x: torch.Tensor, known: torch.Tensor):
        if self.strategy != "recursive":
            return member(x, known)
        mus, sigmas = [], []
        c = self.n_targets
        for j in range(self.horizon):
            mu, sigma = member(x, known[:, j : j + 1])  # (B, 1, C)
            mus.append(mu)
            sigmas.append(sigma)
            nxt = torch.cat([mu, x[:, -1:, c:]], dim=-1)  # (B, 1, C+K): covariates held
            x = torch.cat([x[:, 1:], nxt], dim=1)  # (B, context, C+K)
        return torch.cat(mus, dim=1), torch.cat(sigmas, dim=1)  # (B, H, C)

    def forward(self, x: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, context, C+K), known (B, H, F) -> mixture mu, sigma (B, H, C)."""
        outs = [self._member_forecast(m, x, known) for m in self.members]
        mu = torch.stack([o[0] for o in outs])  # (M, B, H, C)
        sigma = torch.stack([o[1] for o in outs])  # (M, B, H, C)
        mean = mu.mean(0)
        var = (sigma**2 + mu**2).mean(0) - mean**2
        return mean, var.clamp_min(1e-12).sqrt()

    def compute_loss(self, batch) -> torch.Tensor:
        """Gaussian negative log-likelihood, mean over batch, steps, targets and members."""
        x, known, y = batch  # (B, context, C+K), (B, H, F), (B, H, C)
        losses = []
        for member in self.members:
            if self.strategy == "recursive":
                mu, sigma = member(x, known[:, :1])  # one-step training
                target = y[:, :1]
            else:
                mu, sigma = member(x, known)
                target = y
            losses.append((torch.log(sigma) + 0.5 * ((target - mu) / sigma) ** 2).mean())
        return torch.stack(losses).mean()
