"""RNNForecaster: shapes per strategy, the seasonal-naive base, the ensemble mixture, the loss."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.forecaster import RNNForecaster


def _zero_correction(model: RNNForecaster) -> None:
    """Zero every output layer, so mu is exactly the residual base."""
    for m in model.members:
        out = m.out if m.strategy == "seq2seq" else m.head
        torch.nn.init.zeros_(out.weight)
        torch.nn.init.zeros_(out.bias)


@pytest.mark.parametrize("strategy", ["direct", "recursive", "seq2seq"])
def test_shapes_and_loss_per_strategy(strategy):
    model = RNNForecaster(
        n_targets=2,
        n_past=1,
        n_known=2,
        input_len=6,
        horizon=5,
        season=4,
        hidden_size=8,
        strategy=strategy,
        members=2,
    )
    assert model.context == 10
    x = torch.randn(3, 10, 3)  # (B, context, C + K)
    known = torch.randn(3, 5, 2)  # (B, H, F)
    mu, sigma = model(x, known)
    assert mu.shape == (3, 5, 2) and sigma.shape == (3, 5, 2) and (sigma > 0).all()
    loss = model.compute_loss((x, known, torch.randn(3, 5, 2)))
    assert loss.ndim == 0
    loss.backward()
    assert all(p.grad is not None for p in model.members[0].encoder.parameters())


@pytest.mark.parametrize("strategy", ["direct", "recursive", "seq2seq"])
def test_untrained_correction_gives_seasonal_naive(strategy):
    model = RNNForecaster(
        input_len=4, horizon=6, season=3, hidden_size=4, strategy=strategy, n_known=0
    )
    _zero_correction(model)
    z = torch.arange(7.0).view(1, 7, 1)  # context = 4 + 3; last season is 4, 5, 6
    mu, _ = model(z, torch.zeros(1, 6, 0))
    assert mu[0, :, 0].tolist() == [4.0, 5.0, 6.0, 4.0, 5.0, 6.0]


def test_naive_and_no_residual_bases():
    z = torch.arange(7.0).view(1, 7, 1)
    last = RNNForecaster(input_len=4, horizon=3, season=3, hidden_size=4, residual="last")
    none = RNNForecaster(input_len=4, horizon=3, season=3, hidden_size=4, residual="none")
    for model in (last, none):
        _zero_correction(model)
    assert last(z, torch.zeros(1, 3, 0))[0][0, :, 0].tolist() == [6.0, 6.0, 6.0]
    assert none(z, torch.zeros(1, 3, 0))[0][0, :, 0].tolist() == [0.0, 0.0, 0.0]


def test_ensemble_is_the_moment_matched_mixture():
    model = RNNForecaster(input_len=4, horizon=2, season=1, hidden_size=4, members=2)
    x, k = torch.randn(2, 5, 1), torch.zeros(2, 2, 0)
    (m1, s1), (m2, s2) = (member(x, k) for member in model.members)
    mu, sigma = model(x, k)
    assert torch.allclose(mu, (m1 + m2) / 2)
    var = (s1**2 + m1**2 + s2**2 + m2**2) / 2 - mu**2
    assert torch.allclose(sigma, var.sqrt(), atol=1e-6)


def test_bad_arguments_name_the_key():
    with pytest.raises(ConfigError) as err:
        RNNForecaster(strategy="mimo")
    assert str(err.value) == "model.strategy must be one of direct, recursive, seq2seq, got 'mimo'"
    with pytest.raises(ConfigError) as err:
        RNNForecaster(horizon=0)
    assert str(err.value) == "model.horizon must be >= 1, got 0"
