"""MinGRU / MinLSTM: parallel = sequential, gradients, packing, shapes, errors, learning."""
from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnkit.nn.minimal.layers import MinGRU, MinLSTM, g_activation
from tests.nn.ext_helpers import train_losses

CLASSES = [MinGRU, MinLSTM]


def stepwise(model, x):
    """The sequential definition: model.step over t, (T, B, I) -> (T, B, H), h (L, B, H)."""
    h, ys = None, []
    for x_t in x.unbind(0):
        y_t, h = model.step(x_t, h)
        ys.append(y_t)
    return torch.stack(ys), h


def plain_loop(model, x):
    """The sequential definition written from the raw parameters (one layer, h0 = 0)."""
    w, b = model.weight_ih_l0, model.bias_ih_l0
    h = x.new_zeros(x.shape[1], model.hidden_size)
    ys = []
    for p in (x @ w.T + b).unbind(0):  # projection hoisted: no GEMM inside the loop
        if isinstance(model, MinGRU):
            pz, ph = p.chunk(2, -1)
            z = torch.sigmoid(pz)
        else:
            pf, pi, ph = p.chunk(3, -1)
            f, i = torch.sigmoid(pf), torch.sigmoid(pi)
            z = i / (f + i)
        cand = torch.where(ph >= 0, ph + 0.5, torch.sigmoid(ph))
        h = (1 - z) * h + z * cand
        ys.append(h)
    return torch.stack(ys)


def test_g_activation_values():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0], dtype=torch.float64)
    expected = torch.tensor([torch.sigmoid(torch.tensor(-2.0, dtype=torch.float64)).item(),
                             torch.sigmoid(torch.tensor(-0.5, dtype=torch.float64)).item(),
                             0.5, 1.0, 3.5], dtype=torch.float64)
    torch.testing.assert_close(g_activation(x), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("cls", CLASSES)
def test_matches_plain_loop_of_the_equations(cls):
    model = cls(3, 5).double()
    x = torch.randn(9, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(model(x)[0], plain_loop(model, x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", CLASSES)
def test_parallel_equals_sequential_float64_T1000(cls):
    model = cls(4, 6).double()
    x = torch.randn(1000, 3, 4, dtype=torch.float64)
    y_par, h_par = model(x)
    y_seq = plain_loop(model, x)
    assert (y_par - y_seq).abs().max().item() < 1e-10
    assert (h_par[0] - y_seq[-1]).abs().max().item() < 1e-10


@pytest.mark.parametrize("cls", CLASSES)
def test_parallel_equals_sequential_float32_T4000(cls):
    torch.manual_seed(1)
    model = cls(4, 8)
    x = torch.randn(4000, 2, 4, requires_grad=True)
    weights = torch.randn(4000, 2, 8)
    y_par = model(x)[0]
    gx_par, gw_par = torch.autograd.grad((y_par * weights).sum(), (x, model.weight_ih_l0))
    y_seq = plain_loop(model, x)
    gx_seq, gw_seq = torch.autograd.grad((y_seq * weights).sum(), (x, model.weight_ih_l0))

    def rel(a, b):
        return ((a - b).abs().max() / b.abs().max()).item()

    assert rel(y_par, y_seq) < 1e-4
    assert rel(gx_par, gx_seq) < 1e-4
    assert rel(gw_par, gw_seq) < 1e-4


@pytest.mark.parametrize("cls", CLASSES)
def test_step_mode_equals_whole_sequence(cls):
    model = cls(3, 5, num_layers=2).double()
    x = torch.randn(70, 2, 3, dtype=torch.float64)
    y_par, h_par = model(x)
    y_seq, h_seq = stepwise(model, x)
    torch.testing.assert_close(y_seq, y_par, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_seq, h_par, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", CLASSES)
def test_gradcheck_float64_bidirectional_two_layers(cls):
    model = cls(3, 2, num_layers=2, bidirectional=True).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    params = tuple(model.parameters())
    names = [n for n, _ in model.named_parameters()]

    def fn(x, h0, *ps):
        return torch.func.functional_call(model, dict(zip(names, ps)), (x, h0))

    assert torch.autograd.gradcheck(fn, (x, h0, *params))


@pytest.mark.parametrize("cls", CLASSES)
def test_chunked_calls_carry_state(cls):
    model = cls(3, 4).double()
    x = torch.randn(130, 2, 3, dtype=torch.float64)
    y, h = model(x)
    y1, h1 = model(x[:70])
    y2, h2 = model(x[70:], h1)
    torch.testing.assert_close(torch.cat([y1, y2]), y, rtol=0, atol=1e-12)
    torch.testing.assert_close(h2, h, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_sequence_equals_each_sequence_alone(cls, bidirectional):
    model = cls(3, 4, num_layers=2, bidirectional=bidirectional).double()
    lengths = [5, 9, 2]
    x = torch.randn(9, 3, 3, dtype=torch.float64)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, h_n = model(packed)
    padded, out_lengths = pad_packed_sequence(out)
    assert out_lengths.tolist() == lengths
    for b, n in enumerate(lengths):
        y_b, h_b = model(x[:n, b:b + 1])
        torch.testing.assert_close(padded[:n, b:b + 1], y_b, rtol=0, atol=1e-12)
        if n < 9:
            assert padded[n:, b].abs().max().item() == 0.0  # padded steps output 0
        torch.testing.assert_close(h_n[:, b:b + 1], h_b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", CLASSES)
def test_shapes_batch_first_unbatched_and_state_dict_names(cls):
    model = cls(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    y, h = model(torch.randn(2, 7, 3))
    assert y.shape == (2, 7, 8) and h.shape == (4, 2, 4)
    y1, h1 = model(torch.randn(7, 3))
    assert y1.shape == (7, 8) and h1.shape == (4, 4)
    G = 2 if cls is MinGRU else 3
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == {"weight_ih_l0": (G * 4, 3), "bias_ih_l0": (G * 4,),
                      "weight_ih_l0_reverse": (G * 4, 3), "bias_ih_l0_reverse": (G * 4,),
                      "weight_ih_l1": (G * 4, 8), "bias_ih_l1": (G * 4,),
                      "weight_ih_l1_reverse": (G * 4, 8), "bias_ih_l1_reverse": (G * 4,)}
    assert list(cls(3, 4, bias=False).state_dict()) == ["weight_ih_l0"]


def test_dropout_between_layers_only_in_training():
    model = MinGRU(3, 4, num_layers=2, dropout=0.5)
    x = torch.randn(6, 2, 3)
    model.eval()
    torch.testing.assert_close(model(x)[0], model(x)[0], rtol=0, atol=0)
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])


def test_errors_name_the_argument_and_value():
    model = MinGRU(3, 4)
    with pytest.raises(RuntimeError, match=r"^input.size\(-1\) must be equal to input_size. "
                                           r"Expected 3, got 5$"):
        model(torch.randn(2, 1, 5))
    with pytest.raises(RuntimeError, match=r"^Expected hidden size \(1, 1, 4\), got \[1, 2, 4\]$"):
        model(torch.randn(2, 1, 3), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"^MinGRU: Expected input to be 2D or 3D, got 4D"):
        model(torch.randn(1, 2, 1, 3))
    with pytest.raises(ValueError, match=r"^hidden_size must be an integer greater than zero, "
                                         r"got 0$"):
        MinLSTM(3, 0)
    with pytest.raises(ValueError, match=r"^MinLSTM.step: a bidirectional model needs"):
        MinLSTM(3, 4, bidirectional=True).step(torch.randn(2, 3))
    with pytest.raises(ValueError, match=r"^MinGRU.step: x_t must be \(batch, 3\), got \[2, 5\]$"):
        model.step(torch.randn(2, 5))


@pytest.mark.parametrize("cls", CLASSES)
def test_inference_mode_matches_training_forward(cls):
    model = cls(3, 4)
    x = torch.randn(80, 2, 3)
    y = model(x)[0]
    with torch.inference_mode():
        y_inf = model(x)[0]
    torch.testing.assert_close(y_inf, y.detach(), rtol=0, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize("cls", CLASSES)
def test_learns_sunspots(cls):
    first, last = train_losses(cls(1, 16), steps=60)
    assert last < 0.5 * first


@pytest.mark.parametrize("cls", CLASSES)
def test_stateful_calls_equal_the_whole_sequence(cls):
    model = cls(3, 4, num_layers=2).double()
    streaming = cls(3, 4, num_layers=2, stateful=True).double()
    streaming.load_state_dict(model.state_dict())
    x = torch.randn(100, 2, 3, dtype=torch.float64)
    y, h = model(x)
    parts = [streaming(chunk)[0] for chunk in x.split(30)]
    torch.testing.assert_close(torch.cat(parts), y, rtol=0, atol=1e-12)
    torch.testing.assert_close(streaming._carried_state[0], h, rtol=0, atol=1e-12)
    streaming.reset_state()
    torch.testing.assert_close(streaming(x[:30])[0], y[:30], rtol=0, atol=1e-12)
