"""Random configurations and packed lengths against torch.nn (hypothesis), float64."""
from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.nn.helpers import assert_close, flat, make_twins, pack, weighted_sum


@st.composite
def configs(draw):
    mode = draw(st.sampled_from(["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]))
    hidden = draw(st.integers(1, 4))
    kwargs = dict(
        input_size=draw(st.integers(1, 3)), hidden_size=hidden,
        num_layers=draw(st.integers(1, 2)), bias=draw(st.booleans()),
        batch_first=draw(st.booleans()), bidirectional=draw(st.booleans()),
    )
    if mode == "LSTM" and hidden > 1 and draw(st.booleans()):
        kwargs["proj_size"] = draw(st.integers(1, hidden - 1))
    lengths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    return mode, kwargs, lengths, draw(st.integers(0, 2**16))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_random_packed_configurations_match_torch(config):
    mode, kwargs, lengths, seed = config
    ours, theirs = make_twins(mode, **kwargs)
    gen = torch.Generator().manual_seed(seed)
    T, B = max(lengths), len(lengths)
    shape = (B, T, kwargs["input_size"]) if kwargs["batch_first"] else (T, B, kwargs["input_size"])
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    results = []
    for module in (ours, theirs):
        leaf = x.clone().requires_grad_()
        out = module(pack(leaf, lengths, kwargs["batch_first"]))
        weighted_sum(flat(out)).backward()
        results.append(flat(out) + [leaf.grad] + [p.grad for p in module.parameters()])
    for a, b in zip(*results, strict=True):
        assert_close(a, b)
