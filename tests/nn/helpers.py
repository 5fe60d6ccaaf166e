"""Shared helpers of the rnnkit.nn tests: twin modules, random inputs, loss, comparison."""
from __future__ import annotations

import importlib

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

import rnnkit.nn

KINDS = {"LSTM": "LSTM", "GRU": "GRU", "RNN_TANH": "RNN", "RNN_RELU": "RNN"}
TOL = 1e-10


def bptt_available() -> bool:
    """True once rnnkit.nn.bptt offers all three sequence functions."""
    try:
        bptt = importlib.import_module("rnnkit.nn.bptt")
    except ImportError:
        return False
    return all(hasattr(bptt, f"{m}_sequence") for m in ("lstm", "gru", "rnn"))


def make_twins(mode: str, backend: str = "rnnkit", **kwargs):
    """(ours, torch's) float64 layers of ``mode`` with the same weights."""
    cls = KINDS[mode]
    if mode.startswith("RNN_"):
        kwargs["nonlinearity"] = mode[4:].lower()
    theirs = getattr(torch.nn, cls)(dtype=torch.float64, **kwargs)
    ours = getattr(rnnkit.nn, cls)(dtype=torch.float64, backend=backend, **kwargs)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def state_shapes(mode, num_layers, bidirectional, hidden_size, proj_size=0):
    ld = num_layers * (2 if bidirectional else 1)
    out = proj_size or hidden_size
    return [(ld, out), (ld, hidden_size)] if mode == "LSTM" else [(ld, hidden_size)]


def as_state(mode, tensors):
    if tensors is None:
        return None
    return tuple(tensors) if mode == "LSTM" else tensors[0]


def flat(result) -> list[torch.Tensor]:
    """Every tensor in a layer's result, packed data included, in a fixed order."""
    if isinstance(result, PackedSequence):
        return [result.data]
    if isinstance(result, torch.Tensor):
        return [result]
    return [t for item in result for t in flat(item)]


def weighted_sum(tensors, seed: int = 7) -> torch.Tensor:
    """sum_k <tensor_k, R_k> with fixed random R_k: a loss whose gradient reaches everything."""
    gen = torch.Generator().manual_seed(seed)
    total = 0
    for t in tensors:
        total = total + (t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum()
    return total


def grads_of(module, leaves):
    """(d loss / d leaf for each leaf, {name: d loss / d parameter})."""
    return [leaf.grad for leaf in leaves], {n: p.grad for n, p in module.named_parameters()}


def assert_close(actual, expected, tol=TOL, what=""):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs {expected.shape}"
    torch.testing.assert_close(actual, expected, rtol=0, atol=tol, msg=lambda m: f"{what}: {m}")


def pack(x, lengths, batch_first):
    return pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)


def assert_fused_equals_python(run, atol: float = 1e-12) -> list:
    """Call ``run()`` with the fused C++ kernels and again with them off; every returned
    tensor must agree to ``atol`` (float64 cases). Returns the fused results."""
    from rnnkit.nn import kernels

    fused = run()
    with kernels.disabled():
        python = run()
    assert len(fused) == len(python)
    for a, b in zip(fused, python):
        torch.testing.assert_close(a, b, rtol=0, atol=atol)
    return fused
