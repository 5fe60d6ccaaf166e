"""Reference BPTT against float64 central differences (acceptance: rel. error < 1e-6)."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.reference import RNN, check_gradients, gradcheck, relative_error
from tests.reference._helpers import KIND_IDS, KINDS, make_layer


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("num_layers", [1, 2], ids=["L1", "L2"])
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_every_gradient_matches_central_differences(kind, num_layers, bias, rng):
    layer = make_layer(kind, num_layers=num_layers, bias=bias, seed=3)
    x = rng.standard_normal((5, 2, 3))  # (T, B, I)
    result = gradcheck(layer, x, seed=7)
    expected = set(layer.params) | {"x"} | {f"{s}0" for s in layer.state_names}
    assert set(result.errors) == expected  # every parameter, the input, the initial state
    assert result.max_rel_error < 1e-6, str(result)


def test_custom_nonlinearity_pair_is_checked():
    layer = RNN(3, 4, num_layers=2, nonlinearity=(np.sin, np.cos), seed=0)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    assert gradcheck(layer, x).max_rel_error < 1e-6


def test_gradcheck_catches_a_wrong_derivative():
    # f' given as a function of f(a) instead of a: a classic slip that must not pass.
    layer = RNN(3, 4, nonlinearity=(np.tanh, lambda a: 1.0 - a**2), seed=0)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    assert gradcheck(layer, x).max_rel_error > 1e-2


def test_relative_error_is_relative_per_element():
    a = np.array([1.0, -2.0, 4.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, a * (1 + 1e-4)) == pytest.approx(1e-4 / (1 + 1e-4))
    # an element below floor_ratio * max is measured against the floor, not itself
    assert relative_error([1.0, 1e-9], [1.0, 2e-9]) == pytest.approx(1e-9 / 1e-3)


def test_check_gradients_of_a_known_function():
    w = np.array([0.3, -1.2, 2.0])
    result = check_gradients(lambda: float((w**3).sum()), {"w": w}, {"w": 3 * w**2})
    assert result.max_rel_error < 1e-8
    wrong = check_gradients(lambda: float((w**3).sum()), {"w": w}, {"w": 2 * w**2})
    assert wrong.errors["w"] == pytest.approx(1 / 3, rel=1e-6)
