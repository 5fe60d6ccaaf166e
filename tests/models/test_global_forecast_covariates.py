"""GlobalRNN's covariate channels: shapes, padding ignored, and no covariates = the plain model."""

from __future__ import annotations

import torch

from rnnkit.models.global_forecast import GlobalRNN

Q = (0.1, 0.5, 0.9)


def test_covariates_change_the_forecast_and_keep_the_shape():
    torch.manual_seed(0)
    net = GlobalRNN(lookback=10, horizon=4, quantiles=Q, hidden=8, segment=3, n_past=2, n_future=1, n_static=2)
    z, m = torch.randn(5, 10), torch.ones(5, 10, dtype=torch.bool)
    past, fut, static = torch.randn(5, 10, 2), torch.randn(5, 4, 1), torch.randn(5, 2)
    q = net(z, m, past, fut, static)
    assert q.shape == (5, 4, 3)
    for changed in ((past + 1, fut, static), (past, fut + 1, static), (past, fut, static + 1)):
        assert not torch.allclose(net(z, m, *changed), q)


def test_padded_covariate_steps_are_ignored():
    torch.manual_seed(0)
    net = GlobalRNN(lookback=6, horizon=2, quantiles=Q, hidden=4, segment=2, n_past=1)
    z, m = torch.randn(1, 6), torch.tensor([[False, False, True, True, True, True]])
    past = torch.randn(1, 6, 1)
    other = past.clone()
    other[0, :2] = 100.0  # values under the mask: never seen
    assert torch.equal(net(z * m, m, past), net(z * m, m, other))


def test_without_covariates_the_parameters_are_the_plain_models():
    plain = GlobalRNN(lookback=8, horizon=3, quantiles=Q, hidden=4, segment=2)
    shapes = {k: v.shape for k, v in plain.state_dict().items()}
    assert shapes["rnn.weight_ih_l0"] == (12, 4) and shapes["head.0.weight"] == (4, 4)
    cov = GlobalRNN(lookback=8, horizon=3, quantiles=Q, hidden=4, segment=2, n_past=1, n_future=2, n_static=1)
    assert cov.state_dict()["rnn.weight_ih_l0"].shape == (12, 6)  # (2 + 1) · segment inputs
    assert cov.state_dict()["head.0.weight"].shape == (4, 4 + 3 * 2 + 1)
