"""The MASE-scaled training loss of GlobalRNN (loss_scale): window scales, weights, floor and cap."""

from __future__ import annotations

import math

import torch

from rnnkit.models.global_forecast import loss_weights, panel_scale, pinball_loss, window_scales

NAN = float("nan")


def _windows():
    # row 0: padded first point, then 0 1 3 6; row 1: flat but for its last point; row 2: one point
    z = torch.tensor([[0.0, 0.0, 1.0, 3.0, 6.0], [0.0, 0.0, 0.0, 0.0, 0.2], [0.0, 0.0, 0.0, 0.0, 0.0]])
    m = torch.tensor([[0, 1, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]], dtype=torch.bool)
    return z, m


def test_window_scales_by_hand():
    z, m = _windows()
    s1 = window_scales(z, m, season=1)
    assert torch.allclose(s1[:2], torch.tensor([(1 + 2 + 3) / 3, 0.2 / 4]))
    assert math.isnan(s1[2])  # no pair of observed points
    # season 2: row 0 has 2 seasonal pairs (enough), row 1 has 3: |3-0|, |6-1| and 0, 0, |0.2-0|
    assert torch.allclose(window_scales(z, m, season=2)[:2], torch.tensor([(3 + 5) / 2, 0.2 / 3]))
    # season 3: row 0 holds one seasonal pair only (< 3): the lag-1 scale; row 1 holds 2 (< 3) too
    assert torch.allclose(window_scales(z, m, season=3)[:2], s1[:2])
    # seasonal=False: always lag 1
    assert torch.allclose(window_scales(z, m, season=2, seasonal=False)[:2], s1[:2])
    # padded values never count
    z2 = z.clone()
    z2[0, 0] = 100.0
    assert torch.allclose(window_scales(z2, m, 1)[:2], s1[:2])


def test_panel_scale_is_the_median_of_positive_finite_scales():
    z, m = _windows()
    z = torch.cat([z, torch.zeros(1, 5), torch.tensor([[0.0, 1, 0, 1, 0]])])  # + a constant and a 1.0 window
    m = torch.cat([m, torch.ones(2, 5, dtype=torch.bool)])
    assert abs(panel_scale(z, m, 1) - 1.0) < 1e-7  # positive finite: 2, 0.05, 1 -> median 1
    assert panel_scale(torch.zeros(2, 4), torch.ones(2, 4, dtype=torch.bool), 1) is None


def test_loss_weights_by_hand_mean_one_floor_and_cap():
    z, m = _windows()
    z = torch.cat([z, torch.tensor([[0.0, 50, 0, 50, 0]])])  # scale 50
    m = torch.cat([m, torch.ones(1, 5, dtype=torch.bool)])
    w = loss_weights(z, m, season=1, ref=1.0)
    # scales 2, 0.05 -> floor 0.1, NaN -> ref 1, 50 -> cap 10; weights 1 / scale, normalised
    raw = torch.tensor([1 / 2, 1 / 0.1, 1 / 1, 1 / 10])
    assert torch.allclose(w, raw / raw.mean())
    assert abs(float(w.mean()) - 1) < 1e-6
    # a window ten times flatter than the floor weighs no more than one at the floor
    z3 = z.clone()
    z3[1] *= 0.001
    assert torch.allclose(loss_weights(z3, m, 1, 1.0), w)
    # power 0.5: the square roots, normalised
    w5 = loss_weights(z, m, 1, 1.0, power=0.5)
    assert torch.allclose(w5, raw.sqrt() / raw.sqrt().mean())
    # the cap is relative to ref: with ref 10 the 0.05 window is floored at 1
    w10 = loss_weights(z, m, 1, 10.0)
    raw10 = torch.tensor([1 / 2, 1 / 1, 1 / 10, 1 / 50])
    assert torch.allclose(w10, raw10 / raw10.mean())
    assert torch.allclose(loss_weights(z, m, 1, 1.0, normalise=False), raw)


def test_weighted_pinball_loss():
    torch.manual_seed(0)
    q, y, tau = torch.randn(3, 2, 3), torch.randn(3, 2), torch.tensor([0.1, 0.5, 0.9])
    plain = pinball_loss(q, y, tau)
    assert torch.allclose(pinball_loss(q, y, tau, torch.ones(3)), plain)
    per = torch.stack([pinball_loss(q[i: i + 1], y[i: i + 1], tau) for i in range(3)])
    w = torch.tensor([0.5, 2.0, 0.5])
    assert torch.allclose(pinball_loss(q, y, tau, w), (per * w).mean())
