"""Drop-in API: parameters, state_dict both ways, init, conveniences, pickling, .to, jit."""
from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

from torch.nn.utils.rnn import pack_sequence

import rnnkit.nn
from tests.nn.helpers import assert_close, flat, make_twins, weighted_sum

CONFIGS = [
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, proj_size=2)),
    ("LSTM", dict(input_size=3, hidden_size=4, bias=False)),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=3, batch_first=True, dropout=0.5)),
    ("RNN", dict(input_size=3, hidden_size=4, num_layers=2, nonlinearity="relu", bias=False,
                 bidirectional=True)),
]
CELLS = [("LSTMCell", dict(input_size=3, hidden_size=4)), ("GRUCell", dict(input_size=3, hidden_size=4)),
         ("RNNCell", dict(input_size=3, hidden_size=4, nonlinearity="relu")),
         ("GRUCell", dict(input_size=3, hidden_size=4, bias=False))]


@pytest.mark.parametrize("cls,kwargs", CONFIGS)
def test_parameters_match_torch_names_shapes_and_order(cls, kwargs):
    ours = getattr(rnnkit.nn, cls)(**kwargs)
    theirs = getattr(torch.nn, cls)(**kwargs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == \
        [(n, p.shape) for n, p in theirs.named_parameters()]
    assert [[p.shape for p in w] for w in ours.all_weights] == \
        [[p.shape for p in w] for w in theirs.all_weights]
    assert ours._flat_weights_names == theirs._flat_weights_names


@pytest.mark.parametrize("cls,kwargs", CONFIGS + CELLS)
def test_state_dict_loads_both_ways_strictly(cls, kwargs):
    ours = getattr(rnnkit.nn, cls)(**kwargs)
    theirs = getattr(torch.nn, cls)(**kwargs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert torch.equal(a, b), name
    fresh = getattr(torch.nn, cls)(**kwargs)
    fresh.load_state_dict(getattr(rnnkit.nn, cls)(**kwargs).state_dict(), strict=True)


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell"])
def test_initialisation_is_uniform_in_plus_minus_one_over_sqrt_h(cls):
    hidden = 64
    module = getattr(rnnkit.nn, cls)(32, hidden)
    values = torch.cat([p.detach().flatten() for p in module.parameters()])
    bound = hidden ** -0.5
    assert values.abs().max() <= bound
    # U(-k, k): mean 0, variance k²/3, and each tenth of the range holds ~10% of the values.
    n = values.numel()
    assert abs(values.mean()) < 4 * bound / (3 * n) ** 0.5
    assert values.var().item() == pytest.approx(bound**2 / 3, rel=0.05)
    counts = torch.histc(values, bins=10, min=-bound, max=bound) / n
    assert counts.min() > 0.08 and counts.max() < 0.12


def test_reset_parameters_redraws():
    layer = rnnkit.nn.GRU(3, 4)
    before = copy.deepcopy(layer.state_dict())
    layer.reset_parameters()
    assert not torch.equal(before["weight_hh_l0"], layer.weight_hh_l0)


@pytest.mark.parametrize("cls,kwargs", CONFIGS + CELLS)
def test_repr_matches_torch(cls, kwargs):
    ours, theirs = getattr(rnnkit.nn, cls)(**kwargs), getattr(torch.nn, cls)(**kwargs)
    if cls == "RNN":  # we also show a non-default nonlinearity; torch's layer repr omits it
        assert repr(ours) == repr(theirs)[:-1] + ", nonlinearity='relu')"
    else:
        assert repr(ours) == repr(theirs)


def test_repr_names_a_non_default_backend():
    assert repr(rnnkit.nn.LSTM(3, 4, backend="rnnkit")) == "LSTM(3, 4, backend='rnnkit')"


def test_all_weights_and_flatten_parameters():
    layer = rnnkit.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    assert layer.all_weights[3][1] is layer.weight_hh_l1_reverse
    before = {n: p.clone() for n, p in layer.named_parameters()}
    assert layer.flatten_parameters() is None
    assert all(torch.equal(before[n], p) for n, p in layer.named_parameters())


@pytest.mark.parametrize("cls,kwargs", CONFIGS + CELLS)
@pytest.mark.parametrize("how", ["pickle", "torch.save"])
def test_pickle_round_trip(cls, kwargs, how):
    module = getattr(rnnkit.nn, cls)(**kwargs)
    if cls in ("LSTM", "GRU", "RNN"):
        module.backend = "rnnkit"
    if how == "pickle":
        copy_ = pickle.loads(pickle.dumps(module))
    else:
        buffer = io.BytesIO()
        torch.save(module, buffer)
        buffer.seek(0)
        copy_ = torch.load(buffer, weights_only=False)
    assert type(copy_) is type(module) and repr(copy_) == repr(module)
    x = torch.randn(2, 5, 3) if kwargs.get("batch_first") else torch.randn(5, 2, 3)
    if cls.endswith("Cell"):
        x = x[0]
    module.eval()
    copy_.eval()
    a, b = module(x), copy_(x)
    for u, v in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        u = u if isinstance(u, torch.Tensor) else u[0]
        v = v if isinstance(v, torch.Tensor) else v[0]
        assert torch.equal(u, v)


@pytest.mark.parametrize("backend", ["rnnkit", "torch"])
def test_to_dtype(backend):
    ours = rnnkit.nn.LSTM(3, 4, proj_size=2, backend=backend).to(torch.float64)
    assert all(p.dtype == torch.float64 for p in ours.parameters())
    y, (h, c) = ours(torch.randn(5, 2, 3, dtype=torch.float64))
    assert y.dtype == h.dtype == c.dtype == torch.float64
    cell = rnnkit.nn.GRUCell(3, 4).double()
    assert cell(torch.randn(2, 3, dtype=torch.float64)).dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_RELU"])
@pytest.mark.parametrize("backend", ["rnnkit", "torch", "auto"])
@pytest.mark.parametrize("packed", [False, True])
def test_to_device(mode, backend, packed, sequence_impl):
    """On the GPU: same numbers and gradients as torch.nn on the CPU (float64)."""
    kwargs = dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    if mode == "LSTM":
        kwargs["proj_size"] = 2
    ours, theirs = make_twins(mode, backend=backend, **kwargs)
    ours = ours.to("cuda")
    assert all(p.device.type == "cuda" for p in ours.parameters())
    seqs = [torch.randn(n, 3, dtype=torch.float64) for n in (4, 2, 3)]
    results = []
    for module, device in ((ours, "cuda"), (theirs, "cpu")):
        leaves = [s.to(device).requires_grad_() for s in seqs]
        if packed:
            out = module(pack_sequence(leaves, enforce_sorted=False))
        else:
            out = module(torch.nn.utils.rnn.pad_sequence(leaves))
        weighted_sum([t.cpu() for t in flat(out)]).backward()
        results.append([t.cpu() for t in flat(out)] + [leaf.grad.cpu() for leaf in leaves]
                       + [p.grad.cpu() for p in module.parameters()])
    for a, b in zip(*results, strict=True):
        assert_close(a, b)


def test_factory_kwargs():
    layer = rnnkit.nn.GRU(3, 4, device="cpu", dtype=torch.float64)
    assert {p.dtype for p in layer.parameters()} == {torch.float64}


def test_functional_call_uses_the_given_parameters():
    ours, theirs = make_twins("LSTM", input_size=3, hidden_size=4)
    other = {n: torch.randn_like(p) for n, p in ours.named_parameters()}
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    y = torch.func.functional_call(ours, other, (x,))[0]
    theirs.load_state_dict(other)
    assert_close(y, theirs(x)[0])


def test_parameters_can_be_replaced():
    ours, theirs = make_twins("GRU", input_size=3, hidden_size=4)
    ours.weight_hh_l0 = torch.nn.Parameter(torch.randn(12, 4, dtype=torch.float64))
    theirs.weight_hh_l0 = torch.nn.Parameter(ours.weight_hh_l0.detach().clone())
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert_close(ours(x)[0], theirs(x)[0])


# ----------------------------------------------------------------- TorchScript
# torch 2.13 deprecates torch.jit.script; it still works and we still support it.
jit = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

class Wrapper(torch.nn.Module):
    """Scripted models hold the layer as a submodule (as with torch.nn's layers, a
    top-level scripted LSTM only exposes its overloads forward__0/forward__1)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)[0]


@jit
@pytest.mark.parametrize("cls,kwargs", CONFIGS)
def test_jit_script_scripts_the_torch_equivalent(cls, kwargs):
    layer = getattr(rnnkit.nn, cls)(**kwargs).eval()
    scripted = torch.jit.script(Wrapper(layer))
    x = torch.randn(2, 5, 3) if kwargs.get("batch_first") else torch.randn(5, 2, 3)
    assert torch.allclose(layer(x)[0], scripted(x), atol=1e-6)
    # the scripted layer shares the parameters: training it trains ours
    assert scripted.layer.weight_ih_l0.data_ptr() == layer.weight_ih_l0.data_ptr()


@jit
def test_jit_script_refuses_the_rnnkit_backend():
    with pytest.raises(RuntimeError) as info:
        torch.jit.script(Wrapper(rnnkit.nn.LSTM(3, 4, backend="rnnkit")))
    assert str(info.value) == (
        "torch.jit.script: LSTM with backend='rnnkit' cannot be scripted (TorchScript cannot "
        "compile torch.autograd.Function); use backend='auto' or 'torch', or torch.compile"
    )


@jit
@pytest.mark.parametrize("cls,kwargs", CELLS)
def test_jit_script_cells(cls, kwargs):
    cell = getattr(rnnkit.nn, cls)(**kwargs)
    x = torch.randn(2, 3)
    expected, got = cell(x), torch.jit.script(cell)(x)
    expected = expected[0] if isinstance(expected, tuple) else expected
    got = got[0] if isinstance(got, tuple) else got
    assert torch.allclose(expected, got, atol=1e-6)


def test_to_torch_copies():
    layer = rnnkit.nn.LSTM(3, 4, proj_size=2, dtype=torch.float64)
    twin = layer.to_torch()
    assert type(twin) is torch.nn.LSTM and twin.weight_hr_l0.dtype == torch.float64
    assert twin.weight_ih_l0.data_ptr() != layer.weight_ih_l0.data_ptr()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert_close(twin(x)[0], layer(x)[0])
    cell = rnnkit.nn.RNNCell(3, 4, nonlinearity="relu")
    assert repr(cell.to_torch()) == "RNNCell(3, 4, nonlinearity=relu)"


class NoTorchGRU(rnnkit.nn.GRU):
    def torch_kernel_unsupported(self):
        return "zoneout=0.1"


class NoTorchCell(rnnkit.nn.LSTMCell):
    def torch_kernel_unsupported(self):
        return "layer_norm=True"


@jit
@pytest.mark.parametrize("module,message", [
    (NoTorchGRU(3, 4, backend="auto"), "NoTorchGRU with zoneout=0.1 has no torch.nn equivalent"),
    (NoTorchCell(3, 4), "NoTorchCell with layer_norm=True has no torch.nn equivalent"),
])
def test_extensions_are_never_silently_dropped(module, message):
    with pytest.raises(RuntimeError) as info:
        module.to_torch()
    assert str(info.value) == message
    with pytest.raises(RuntimeError):
        torch.jit.script(Wrapper(module) if isinstance(module, rnnkit.nn.GRU) else module)


@pytest.mark.parametrize("cls,kwargs", CONFIGS + CELLS)
def test_same_seed_gives_torchs_initial_weights(cls, kwargs):
    """Parameters are created and initialised in torch's order, drawing the same numbers."""
    torch.manual_seed(123)
    theirs = getattr(torch.nn, cls)(**kwargs)
    torch.manual_seed(123)
    ours = getattr(rnnkit.nn, cls)(**kwargs)
    for (name, a), (t_name, b) in zip(ours.state_dict().items(), theirs.state_dict().items(), strict=True):
        assert name == t_name and torch.equal(a, b), name


@pytest.mark.parametrize("backend", ["rnnkit", "auto"])
def test_parametrized_weight_is_used(backend):
    """A weight behind torch.nn.utils.parametrize (not a plain parameter) is what runs."""
    import rnnkit.nn as rn

    torch.manual_seed(0)
    m = rn.GRU(3, 4, backend=backend)
    ref = torch.nn.GRU(3, 4)
    ref.load_state_dict(m.state_dict())

    class Double(torch.nn.Module):
        def forward(self, w):
            return 2 * w

    torch.nn.utils.parametrize.register_parametrization(m, "weight_hh_l0", Double())
    with torch.no_grad():
        ref.weight_hh_l0.mul_(2)
    x = torch.randn(5, 2, 3)
    torch.testing.assert_close(m(x)[0], ref(x)[0], rtol=1e-5, atol=1e-6)
