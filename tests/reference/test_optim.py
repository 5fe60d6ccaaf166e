"""The NumPy Adam: same trajectory as torch.optim.Adam, and it minimises."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.errors import RnnkitError
from rnnkit.reference import Adam

torch = pytest.importorskip("torch")


def test_adam_follows_torch_adam(rng):
    start = rng.standard_normal((3, 2))
    target = rng.standard_normal((3, 2))
    mine = {"w": start.copy()}
    opt = Adam(mine, lr=0.05, betas=(0.8, 0.99), eps=1e-8)
    w = torch.tensor(start, requires_grad=True)
    ref = torch.optim.Adam([w], lr=0.05, betas=(0.8, 0.99), eps=1e-8)
    for _ in range(20):
        opt.step({"w": 2 * (mine["w"] - target) ** 3})  # gradient of sum((w - target)^4) / 2
        ref.zero_grad()
        (0.5 * ((w - torch.from_numpy(target)) ** 4).sum()).backward()
        ref.step()
    np.testing.assert_allclose(mine["w"], w.detach().numpy(), atol=1e-12)
    assert np.abs(mine["w"] - start).max() > 0.1  # it moved


def test_adam_updates_the_callers_arrays_in_place():
    w = np.array([1.0, -1.0])
    opt = Adam({"w": w}, lr=0.1)
    for _ in range(200):
        opt.step({"w": 2 * w})
    assert np.abs(w).max() < 0.05


def test_adam_argument_errors():
    with pytest.raises(RnnkitError, match=r"^lr: expected a positive number, got 0$"):
        Adam({"w": np.zeros(2)}, lr=0)
    with pytest.raises(RnnkitError, match=r"^grads: missing key 'w'$"):
        Adam({"w": np.zeros(2)}).step({})
