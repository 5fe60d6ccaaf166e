"""gradient_flow against autograd: ∂L/∂h_t from torch.autograd.grad on retained states.

The oracle below unrolls each layer-direction step by step with rnnkit.nn.functional's
cells (MinGRU/MinLSTM from their equations), keeps every h_t as a graph node and asks
autograd for ∂L/∂h_t; its output must equal the layer's own output, so the oracle runs
the very model. gradient_flow's backward is hand-written and never uses autograd.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnkit.diagnostics import effective_span, gradient_flow, hidden_gradients
from rnnkit.errors import RnnkitError
from rnnkit.nn import GRU, LSTM, RNN, MinGRU, MinLSTM
from rnnkit.nn import functional as nnf

T, B, I, H = 7, 3, 4, 5
TOL = 1e-10


def _layer(kind, **kw):
    if kind == "rnn_relu":
        return RNN(I, H, nonlinearity="relu", dtype=torch.float64, **kw)
    cls = {"rnn": RNN, "lstm": LSTM, "gru": GRU, "mingru": MinGRU, "minlstm": MinLSTM}[kind]
    return cls(I, H, dtype=torch.float64, **kw)


def _g(x):
    return torch.sigmoid(x.clamp(max=0.0)) + x.clamp(min=0.0)


def _oracle_direction(kind, layer, x, k, d, keep):
    """Unrolled plain-autograd loop over time-major x (T, B, I); appends each h_t to keep."""
    sfx = f"_l{k}" + ("_reverse" if d else "")
    w = {n: getattr(layer, n + sfx, None) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    h = x.new_zeros(x.shape[1], H)
    c = x.new_zeros(x.shape[1], H)
    order = range(x.shape[0]) if d == 0 else reversed(range(x.shape[0]))
    hs = [None] * x.shape[0]
    for t in order:
        if kind in ("rnn", "rnn_relu"):
            h = nnf.rnn_cell(x[t], h, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"],
                             "relu" if kind == "rnn_relu" else "tanh")
        elif kind == "lstm":
            h, c = nnf.lstm_cell(x[t], h, c, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"])
        elif kind == "gru":
            h = nnf.gru_cell(x[t], h, w["weight_ih"], w["weight_hh"], w["bias_ih"], w["bias_hh"])
        else:
            p = F.linear(x[t], w["weight_ih"], w["bias_ih"])
            if kind == "mingru":
                pz, ph = p.chunk(2, -1)
                z = torch.sigmoid(pz)
            else:
                pf, pi, ph = p.chunk(3, -1)
                z = torch.sigmoid(F.softplus(-pf) - F.softplus(-pi))
            h = (1 - z) * h + z * _g(ph)
        keep[(k, d, t)] = h
        hs[t] = h
    return torch.stack(hs), (h, c)  # (T, B, H) in time order; the last processed states


def _oracle(kind, layer, x, loss_of_output, with_states=False):
    """(output, {key: ∂L/∂h (T, B, H)}) by autograd on the retained states.

    ``loss_of_output(out)``, or ``loss_of_output(out, h_n, c_n)`` when ``with_states``."""
    D = 2 if layer.bidirectional else 1
    inp = x.transpose(0, 1) if layer.batch_first else x
    keep, finals = {}, []
    for k in range(layer.num_layers):
        runs = [_oracle_direction(kind, layer, inp, k, d, keep) for d in range(D)]
        finals += [final for _, final in runs]
        inp = torch.cat([hs for hs, _ in runs], -1)
    out = inp.transpose(0, 1) if layer.batch_first else inp
    states = list(keep.values())
    if with_states:
        h_n, c_n = torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals])
        value = loss_of_output(out, h_n, c_n)
    else:
        value = loss_of_output(out)
    grads = torch.autograd.grad(value, states, allow_unused=True)
    by_key = {}
    for (k, d, t), g in zip(keep, grads):
        key = f"l{k}" + ("_reverse" if d else "")
        by_key.setdefault(key, [None] * x.shape[1 if layer.batch_first else 0])[t] = (
            torch.zeros(B, H, dtype=x.dtype) if g is None else g)
    return out, {key: torch.stack(v) for key, v in by_key.items()}


def _readout(kind_of_loss, batch_first):
    def loss(out):
        y = out if not batch_first else out.transpose(0, 1)  # (T, B, F)
        u = y.sum(-1) / y.shape[-1] ** 0.5
        return u[-1].mean() if kind_of_loss == "last" else u.mean()
    return loss


KINDS = ["rnn", "rnn_relu", "lstm", "gru", "mingru", "minlstm"]
CONFIGS = [
    dict(),
    dict(num_layers=2, bidirectional=True),
    dict(num_layers=3, batch_first=True),
    dict(bidirectional=True, batch_first=True, bias=False),
]


@pytest.mark.parametrize("loss", ["last", "every"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "plain")
@pytest.mark.parametrize("kind", KINDS)
def test_gradients_agree_with_autograd_in_float64(kind, config, loss):
    layer = _layer(kind, **config)
    x = torch.randn((B, T, I) if config.get("batch_first") else (T, B, I), dtype=torch.float64)
    out, expected = _oracle(kind, layer, x, _readout(loss, layer.batch_first))
    model_out = layer(x)[0]
    torch.testing.assert_close(out, model_out, rtol=0, atol=1e-12)  # the oracle runs the model
    got, value = hidden_gradients(layer, x, loss=loss)
    assert value == pytest.approx(float(_readout(loss, layer.batch_first)(model_out.detach())), abs=1e-12)
    assert set(got) == set(expected)
    for key in expected:
        assert expected[key].abs().max() > 0
        torch.testing.assert_close(got[key], expected[key], rtol=0, atol=TOL)
    flow = gradient_flow(layer, x, loss=loss)
    for key in expected:
        norms = torch.linalg.vector_norm(expected[key], dim=(1, 2)).numpy()
        np.testing.assert_allclose(flow.norms[key], norms, rtol=0, atol=TOL)


def test_a_callable_loss_and_a_task_model_loss_agree_with_autograd():
    from rnnkit.diagnostics.model import TaskModel
    from rnnkit.diagnostics.problems import problem

    model = TaskModel("adding", "gru", H).double()
    x, y = problem("adding").batch(B, T, seed=3)
    x, y = x.double(), y.double()
    _, expected = _oracle("gru", model.rnn, x, lambda out: F.mse_loss(model.readout(out), y))
    got, value = hidden_gradients(model, (x, y))  # loss="auto": model.compute_loss((x, y))
    assert value == pytest.approx(float(model.compute_loss((x, y)).detach()), abs=1e-12)
    torch.testing.assert_close(got["l0"], expected["l0"], rtol=0, atol=TOL)
    got, _ = hidden_gradients(model.rnn, x, loss=lambda out: F.mse_loss(model.readout(out), y))
    torch.testing.assert_close(got["l0"], expected["l0"], rtol=0, atol=TOL)


def test_effective_span_is_the_largest_lag_above_the_fraction():
    norms = np.array([1e-4, 0.5, 1e-3, 2e-2, 1.0])  # t = 1 … 5; reference 1.0 at t = 5
    assert effective_span(norms, 0.01) == 3  # lag 3 (t = 2, 0.5); t = 3 (lag 2) dips below
    assert effective_span(norms, 0.6) == 0
    assert effective_span(norms, 1e-5) == 4
    assert effective_span(np.array([0.3, 0.0]), 0.01) == 0  # nothing reaches the last step


def test_the_elman_gradient_vanishes_geometrically_with_small_weights():
    layer = RNN(I, H, dtype=torch.float64)
    with torch.no_grad():
        layer.weight_hh_l0.mul_(0.2)  # contraction: ‖W_hh‖ small, tanh' ≤ 1
    flow = gradient_flow(layer, torch.randn(20, B, I, dtype=torch.float64))
    n = flow.norms["l0"]
    assert np.all(np.diff(n) > 0)  # strictly larger towards the loss at t = T
    assert n[0] < 1e-6 * n[-1]
    assert flow.span() < 10


@pytest.mark.parametrize("make,message", [
    (lambda: LSTM(I, H, proj_size=2), "gradient_flow: LSTM with proj_size=2 is not supported"),
    (lambda: GRU(I, H, layer_norm=True), "gradient_flow: GRU with layer_norm=True is not supported"),
    (lambda: torch.nn.GRU(I, H), "gradient_flow: expected an rnnkit RNN, LSTM, GRU, MinGRU or "
                                 "MinLSTM (or a model holding one as .rnn), got GRU"),
])
def test_unsupported_layers_are_named_in_one_line(make, message):
    with pytest.raises(RnnkitError) as err:
        gradient_flow(make(), torch.randn(T, B, I))
    assert str(err.value) == message


def test_bad_arguments_are_one_line_errors():
    layer = GRU(I, H)
    with pytest.raises(RnnkitError, match=r"^gradient_flow: fraction must be a float in \(0, 1\), got 2.0$"):
        gradient_flow(layer, torch.randn(T, B, I), fraction=2.0)
    with pytest.raises(RnnkitError, match=r"^gradient_flow: the input must be 3-D with 4 features, got shape \(7, 3, 2\)$"):
        gradient_flow(layer, torch.randn(T, B, 2))
    with pytest.raises(RnnkitError, match="loss must be 'auto', 'last', 'every' or a callable, got 'first'"):
        gradient_flow(layer, torch.randn(T, B, I), loss="first")


def test_an_rnnkit_task_model_uses_its_own_compute_loss():
    """RecurrentModel keeps its layer as .rnn and calls it once inside compute_loss."""
    from rnnkit.models.recurrent import RecurrentModel

    model = RecurrentModel(I, H, 2, cell="lstm", num_layers=2, bidirectional=True).double()
    x, y = torch.randn(B, T, I, dtype=torch.float64), torch.randn(B, 2, dtype=torch.float64)
    saved = model.rnn

    def loss_of_output(out):  # what compute_loss does after the layer, head "last"
        D = 2
        final = torch.cat([out[:, -1, :H], out[:, 0, H:]], -1)  # [h_T^fwd ; h_1^bwd]  (B, 2H)
        assert final.shape == (B, D * H)
        return F.mse_loss(model.fc(final), y)

    _, expected = _oracle("lstm", model.rnn, x, loss_of_output)
    got, value = hidden_gradients(model, (x, y))
    assert model.rnn is saved  # put back
    assert value == pytest.approx(float(model.compute_loss((x, y)).detach()), abs=1e-12)
    for key in ("l0", "l0_reverse", "l1", "l1_reverse"):
        torch.testing.assert_close(got[key], expected[key], rtol=0, atol=TOL)
    with pytest.raises(RnnkitError, match="packed or padded batches"):
        gradient_flow(model, (x, y, torch.tensor([T, T - 1, T - 2])))


class _FinalStateLoss(torch.nn.Module):
    """A task model whose loss reads the final states h_n and c_n of every layer."""

    def __init__(self, rnn, y):
        super().__init__()
        self.rnn, self.y = rnn, y

    def compute_loss(self, batch):
        out, state = self.rnn(batch)
        h_n, c_n = state if isinstance(state, tuple) else (state, None)
        value = ((out[-1] - 0.1) ** 2).mean() + (h_n * self.y).sum()
        return value if c_n is None else value + (c_n ** 2).sum() / 3


@pytest.mark.parametrize("kind", ["lstm", "gru", "mingru"])
def test_losses_on_the_final_states_reach_every_layer(kind):
    layer = _layer(kind, num_layers=2, bidirectional=True)
    y = torch.randn(4, B, H, dtype=torch.float64)
    model = _FinalStateLoss(layer, y)
    x = torch.randn(T, B, I, dtype=torch.float64)

    def oracle_loss(out, h_n, c_n):
        value = ((out[-1] - 0.1) ** 2).mean() + (h_n * y).sum()
        return value + (c_n ** 2).sum() / 3 if kind == "lstm" else value

    _, expected = _oracle(kind, layer, x, oracle_loss, with_states=True)
    got, value = hidden_gradients(model, x)
    assert value == pytest.approx(float(model.compute_loss(x).detach()), abs=1e-12)
    for key in ("l0", "l0_reverse", "l1", "l1_reverse"):
        torch.testing.assert_close(got[key], expected[key], rtol=0, atol=TOL)


def test_in_float64_keeps_what_float32_underflows():
    from rnnkit.diagnostics.flow import in_float64

    layer = RNN(I, H)
    with torch.no_grad():
        layer.weight_hh_l0.mul_(0.3)  # decays by about 1e-120 over 120 steps
    x = torch.randn(120, B, I)
    n32 = gradient_flow(layer, x).norms["l0"]
    model64, x64 = in_float64(layer, (x, torch.tensor([1, 2])))
    assert layer.weight_hh_l0.dtype == torch.float32  # the model itself is untouched
    assert x64[0].dtype == torch.float64 and x64[1].dtype == torch.int64
    n64 = gradient_flow(model64, x64[0]).norms["l0"]
    assert n32[0] == 0.0 and 1e-300 < n64[0] < 1e-45  # below float32's smallest subnormal
    np.testing.assert_allclose(n64[-20:], n32[-20:], rtol=1e-4)
