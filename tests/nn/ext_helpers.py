"""Helpers of the issue-6 tests (MinGRU/MinLSTM and the extensions): a small real task."""
from __future__ import annotations

import csv
from importlib import resources

import torch


def sunspot_series(dtype=torch.float32) -> torch.Tensor:
    """Yearly sunspot numbers 1700-2008 (bundled, real data), standardised: (N,)."""
    path = resources.files("rnnkit.datasets") / "forecasting" / "sunspots_yearly.csv"
    with path.open() as fh:
        values = [float(row["sunspots"]) for row in csv.DictReader(fh)]
    series = torch.tensor(values, dtype=dtype)
    return (series - series.mean()) / series.std()


def sunspot_windows(window: int = 24, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Yearly sunspot numbers (bundled, real data) as next-year prediction windows.

    Returns x (T, B, 1) and y (B, 1): each column of x is `window` standardised years
    and y the following year.
    """
    series = sunspot_series(dtype)
    windows = series.unfold(0, window + 1, 3)  # (B, window + 1)
    x = windows[:, :window].T.unsqueeze(-1).contiguous()  # (T, B, 1)
    return x, windows[:, window:].contiguous()  # (B, 1)


def train_losses(rnn: torch.nn.Module, steps: int = 60, lr: float = 1e-2,
                 hidden_size: int | None = None) -> tuple[float, float]:
    """Fit rnn + a linear head on the sunspot task; return (first loss, last loss)."""
    torch.manual_seed(0)
    x, y = sunspot_windows()
    H = hidden_size or rnn.hidden_size
    head = torch.nn.Linear(H, 1)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=lr)
    rnn.train()
    losses = []
    for _ in range(steps):
        out = rnn(x)[0]  # (T, B, H)
        loss = torch.nn.functional.mse_loss(head(out[-1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses[0], min(losses[-5:])
