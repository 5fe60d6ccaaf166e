"""backend="rnnkit" never touches torch's fused kernels; "torch" and "auto" dispatch as documented."""
from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_sequence

import rnnkit.nn
from rnnkit.errors import RnnkitError
from rnnkit.nn import functional, kernels, stack
from tests.nn.helpers import bptt_available

FUSED = [
    "lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell",
    "rnn_relu_cell", "mkldnn_rnn_layer", "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell",
]


class FusedKernelCalled(Exception):
    pass


def _forbid(name):
    def forbidden(*args, **kwargs):
        raise FusedKernelCalled(name)
    return forbidden


@pytest.fixture
def no_fused_kernels(monkeypatch):
    """Every fused recurrent kernel, under every name Python code reaches it by, raises."""
    for name in FUSED:
        for owner in (torch._VF, torch, torch._C._VariableFunctions):
            if hasattr(owner, name):
                try:
                    monkeypatch.setattr(owner, name, _forbid(name))
                except (TypeError, AttributeError):  # an immutable builtin type
                    pass


def _everything(backend):
    """Forward and backward through every layer and cell, padded and packed."""
    seqs = [torch.randn(4, 3), torch.randn(2, 3), torch.randn(3, 3)]
    for cls, kwargs in [("LSTM", {"proj_size": 2}), ("GRU", {}), ("RNN", {"nonlinearity": "relu"})]:
        layer = getattr(rnnkit.nn, cls)(3, 4, num_layers=2, bidirectional=True, backend=backend, **kwargs)
        out, _ = layer(torch.randn(4, 2, 3))
        packed_out, _ = layer(pack_sequence(seqs, enforce_sorted=False))
        (out.sum() + packed_out.data.sum()).backward()
    x = torch.randn(2, 3)
    rnnkit.nn.LSTMCell(3, 4)(x)[0].sum().backward()
    rnnkit.nn.GRUCell(3, 4)(x).sum().backward()
    rnnkit.nn.RNNCell(3, 4, nonlinearity="relu")(x).sum().backward()


def test_rnnkit_path_runs_without_fused_kernels(no_fused_kernels, sequence_impl):
    _everything("rnnkit")


def test_the_patch_catches_real_calls(no_fused_kernels):
    with pytest.raises(FusedKernelCalled):
        rnnkit.nn.LSTM(3, 4, backend="torch")(torch.randn(4, 2, 3))
    with pytest.raises(FusedKernelCalled):
        torch.nn.GRUCell(3, 4)(torch.randn(2, 3))


class Spy:
    def __init__(self, monkeypatch, owner, name):
        self.calls = 0
        original = getattr(owner, name)

        def spy(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)


def auto_choice(cls):
    """The decision table (rnnkit.nn.backend_choice) for a small float32 layer in training:
    every mode trains on rnnkit's BPTT once it exists (the LSTM only with the fused loops)."""
    if not bptt_available():
        return "torch"
    return "rnnkit" if cls in ("GRU", "RNN") or kernels.available() else "torch"


@pytest.mark.parametrize("cls,kernel", [("LSTM", "lstm"), ("GRU", "gru"), ("RNN", "rnn_tanh")])
@pytest.mark.parametrize("backend", ["torch", "auto", "rnnkit"])
def test_dispatch(monkeypatch, cls, kernel, backend):
    spy = Spy(monkeypatch, torch._VF, kernel)
    layer = getattr(rnnkit.nn, cls)(3, 4, backend=backend)
    layer(torch.randn(4, 2, 3))[0].sum().backward()
    expected = auto_choice(cls) if backend == "auto" else backend
    assert layer.resolved_backend() == expected
    assert spy.calls == (1 if expected == "torch" else 0)


def test_auto_uses_torch_when_only_the_functional_loops_are_on(monkeypatch):
    monkeypatch.setattr(stack, "SEQUENCE_IMPL", "functional")
    assert rnnkit.nn.GRU(3, 4).resolved_backend() == "torch"


@pytest.mark.skipif(not kernels.available(), reason="fused kernels not built")
def test_auto_uses_torch_for_lstm_inference():
    """oneDNN's LSTM inference beat the fused loops (docs/performance.md); a layer counts
    as in inference under no_grad, inference_mode, or with frozen weights."""
    layer = rnnkit.nn.LSTM(3, 32)
    assert layer.resolved_backend() == "rnnkit"
    with torch.no_grad():
        assert layer.resolved_backend() == "torch"
    with torch.inference_mode():
        assert layer.resolved_backend() == "torch"
    layer.requires_grad_(False)
    assert layer.resolved_backend() == "torch"


@pytest.mark.skipif(not kernels.available(), reason="fused kernels not built")
def test_auto_projected_lstm_takes_rnnkit_without_torch_warning(monkeypatch, recwarn):
    """torch.nn.LSTM(proj_size=...) warns that oneDNN cannot run it and takes its slow
    loop; "auto" runs rnnkit's path instead, in training and in inference."""
    spy = Spy(monkeypatch, torch._VF, "lstm")
    layer = rnnkit.nn.LSTM(5, 10, proj_size=4)
    layer(torch.randn(6, 3, 5))[0].sum().backward()
    with torch.no_grad():
        layer(torch.randn(6, 3, 5))
    assert spy.calls == 0
    assert not [w for w in recwarn if "oneDNN" in str(w.message) or "projections" in str(w.message)]


def test_auto_uses_torch_when_the_fused_loops_are_off():
    """Without the fused C++ loops the LSTM trains on oneDNN again; GRU still on rnnkit."""
    with kernels.disabled():
        assert rnnkit.nn.LSTM(3, 4).resolved_backend() == "torch"
        assert rnnkit.nn.GRU(3, 4).resolved_backend() == auto_choice("GRU")


class NoKernelLSTM(rnnkit.nn.LSTM):
    """Stands for an extension that torch's kernel cannot run."""

    def torch_kernel_unsupported(self):
        return "layer_norm=True"


def test_auto_falls_back_to_rnnkit_without_a_kernel(monkeypatch):
    spy = Spy(monkeypatch, torch._VF, "lstm")
    layer = NoKernelLSTM(3, 4)
    layer(torch.randn(4, 2, 3))
    assert spy.calls == 0 and layer.resolved_backend() == "rnnkit"


def test_torch_backend_without_a_kernel_is_a_clear_error():
    layer = NoKernelLSTM(3, 4, backend="torch")
    with pytest.raises(RnnkitError) as info:
        layer(torch.randn(4, 2, 3))
    assert str(info.value) == (
        "backend='torch': torch has no fused kernel for NoKernelLSTM with layer_norm=True; "
        "use backend='rnnkit' or backend='auto'"
    )


def test_backend_can_be_changed_after_construction():
    layer = rnnkit.nn.GRU(3, 4)
    layer.backend = "rnnkit"
    assert layer.resolved_backend() == "rnnkit"


def test_functional_switch_runs_functional(monkeypatch):
    monkeypatch.setattr(stack, "SEQUENCE_IMPL", "functional")
    spy = Spy(monkeypatch, functional, "gru_sequence")
    rnnkit.nn.GRU(3, 4, num_layers=2, backend="rnnkit")(torch.randn(4, 2, 3))
    assert spy.calls == 2


@pytest.mark.skipif(not bptt_available(), reason="rnnkit.nn.bptt has not landed")
def test_bptt_switch_runs_bptt(monkeypatch):
    import rnnkit.nn.bptt as bptt

    monkeypatch.setattr(stack, "SEQUENCE_IMPL", "bptt")
    spies = [Spy(monkeypatch, bptt, name) for name in ("lstm_sequence", "gru_sequence", "rnn_sequence")]
    forbid = [Spy(monkeypatch, functional, name) for name in ("lstm_sequence", "gru_sequence", "rnn_sequence")]
    for cls in ("LSTM", "GRU", "RNN"):
        getattr(rnnkit.nn, cls)(3, 4, backend="rnnkit")(torch.randn(4, 2, 3))
    assert [s.calls for s in spies] == [1, 1, 1]
    assert [s.calls for s in forbid] == [0, 0, 0]


def test_bptt_switch_inside_torch_func_says_why(monkeypatch):
    monkeypatch.setattr(stack, "SEQUENCE_IMPL", "bptt")
    layer = rnnkit.nn.GRU(3, 4, backend="rnnkit")
    x = torch.randn(5, 2, 3)
    with pytest.raises(RuntimeError, match="cannot run inside a torch.func transform"):
        torch.vmap(lambda x: layer(x)[0])(x.unsqueeze(0))
    monkeypatch.setattr(stack, "SEQUENCE_IMPL", "auto")
    assert stack.sequence_function("GRU") is rnnkit.nn.bptt.gru_sequence
    torch.vmap(lambda x: layer(x)[0])(x.unsqueeze(0))  # auto: the plain-autograd loop there


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("backend", ["auto", "rnnkit"])
def test_torch_func_grad_works_like_torch(cls, backend):
    ours = getattr(rnnkit.nn, cls)(3, 4, num_layers=2, backend=backend, dtype=torch.float64)
    theirs = getattr(torch.nn, cls)(3, 4, num_layers=2, dtype=torch.float64)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(5, 2, 3, dtype=torch.float64)

    def grads(module):
        loss = lambda p: torch.func.functional_call(module, p, (x,))[0].sum()  # noqa: E731
        return torch.func.grad(loss)(dict(module.named_parameters()))

    got, expected = grads(ours), grads(theirs)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=0, atol=1e-10)


def test_vmap_over_the_rnnkit_path():
    layer = rnnkit.nn.GRU(3, 4, backend="rnnkit")
    xs = torch.randn(4, 5, 2, 3)
    batched = torch.vmap(lambda x: layer(x)[0])(xs)
    torch.testing.assert_close(batched, torch.stack([layer(x)[0] for x in xs]))
