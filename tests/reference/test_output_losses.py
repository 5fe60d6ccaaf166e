"""The output layer y = g(W_hy h + b_y) and the losses: gradients checked, values vs torch."""
from __future__ import annotations

import numpy as np
import pytest

from rnnkit.errors import RnnkitError
from rnnkit.reference import Output, check_gradients, cross_entropy_loss, mse_loss, nll_loss

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("activation", ["identity", "softmax"])
@pytest.mark.parametrize("bias", [True, False])
def test_output_layer_gradients(activation, bias, rng):
    head = Output(4, 3, activation=activation, bias=bias, seed=0)
    h = rng.standard_normal((5, 2, 4))  # (T, B, H)
    w = rng.standard_normal((5, 2, 3))
    y, cache = head.forward(h)
    dh, grads = head.backward(w, cache)
    result = check_gradients(lambda: float((head.forward(h)[0] * w).sum()),
                             {**head.params, "h": h}, {**grads, "h": dh})
    assert result.max_rel_error < 1e-6, str(result)
    if activation == "softmax":
        np.testing.assert_allclose(y.sum(axis=-1), 1.0, atol=1e-15)


def test_output_layer_matches_torch_linear(rng):
    head = Output(4, 3, seed=0)
    linear = torch.nn.Linear(4, 3, dtype=torch.float64)
    head.load_state_dict({k: v.detach().numpy() for k, v in linear.state_dict().items()})
    h = rng.standard_normal((5, 4))
    np.testing.assert_allclose(head.forward(h)[0], linear(torch.from_numpy(h)).detach().numpy(),
                               atol=1e-14)


def test_mse_loss_value_and_gradient(rng):
    pred, target = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
    loss, grad = mse_loss(pred, target)
    p = torch.tensor(pred, requires_grad=True)
    want = torch.nn.functional.mse_loss(p, torch.from_numpy(target))
    want.backward()
    assert loss == pytest.approx(want.item(), abs=1e-14)
    np.testing.assert_allclose(grad, p.grad.numpy(), atol=1e-15)


def test_cross_entropy_value_and_gradient(rng):
    logits = rng.standard_normal((4, 3, 5)) * 3  # (T, B, C)
    target = rng.integers(0, 5, size=(4, 3))
    loss, grad = cross_entropy_loss(logits, target)
    z = torch.tensor(logits, requires_grad=True)
    want = torch.nn.functional.cross_entropy(z.reshape(-1, 5), torch.from_numpy(target).reshape(-1))
    want.backward()
    assert loss == pytest.approx(want.item(), abs=1e-13)
    np.testing.assert_allclose(grad, z.grad.numpy(), atol=1e-15)
    result = check_gradients(lambda: cross_entropy_loss(logits, target)[0], {"z": logits},
                             {"z": grad})
    assert result.max_rel_error < 1e-6


def test_softmax_output_with_nll_equals_cross_entropy_on_logits(rng):
    head = Output(4, 5, activation="softmax", seed=0)
    h = rng.standard_normal((6, 4))
    target = rng.integers(0, 5, size=6)
    probs, cache = head.forward(h)
    loss, dprobs = nll_loss(probs, target)
    dh, grads = head.backward(dprobs, cache)
    logits = h @ head.params["weight"].T + head.params["bias"]
    loss2, dz = cross_entropy_loss(logits, target)
    assert loss == pytest.approx(loss2, abs=1e-14)
    np.testing.assert_allclose(grads["bias"], dz.sum(axis=0), atol=1e-14)
    np.testing.assert_allclose(dh, dz @ head.params["weight"], atol=1e-14)


def test_loss_input_errors():
    with pytest.raises(RnnkitError, match=r"^target: expected shape \(3, 2\), got \(3,\)$"):
        mse_loss(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(RnnkitError, match=r"^target: expected class indices in \[0, 4\), got 4$"):
        cross_entropy_loss(np.zeros((2, 4)), np.array([0, 4]))
    with pytest.raises(
            RnnkitError, match=r"^target: expected integer class indices, got dtype float64$"):
        nll_loss(np.full((2, 4), 0.25), np.array([0.0, 1.0]))
    with pytest.raises(
            RnnkitError, match=r"^activation: expected 'identity' or 'softmax', got 'tanh'$"):
        Output(4, 2, activation="tanh")
    with pytest.raises(RnnkitError, match=r"^h: expected shape \(\.\.\., 4\), got \(2, 3\)$"):
        Output(4, 2).forward(np.zeros((2, 3)))
