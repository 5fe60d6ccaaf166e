"""CharLM: shapes, loss, and the carried state of truncated BPTT."""
from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from rnnkit.data.text import ContiguousBatches
from rnnkit.errors import ConfigError
from rnnkit.models.charlm import CharLM


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _model(cell="lstm", layers=2, dropout=0.0):
    return CharLM(vocab_size=11, embed_dim=5, hidden_size=7, num_layers=layers, cell=cell,
                  dropout=dropout)


def _rnn_inputs(model):
    """Record the state argument each call of the recurrent layer receives."""
    seen = []
    model.rnn.register_forward_pre_hook(lambda mod, args: seen.append(args[1] if len(args) > 1 else None))
    return seen


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_forward_shapes(cell):
    model = _model(cell)
    logits, state = model(torch.randint(0, 11, (6, 3)))
    assert logits.shape == (6, 3, 11)
    h = state[0] if cell == "lstm" else state
    assert h.shape == (2, 3, 7)


def test_compute_loss_is_mean_cross_entropy_in_nats():
    model = _model()
    x, y = torch.randint(0, 11, (6, 3)), torch.randint(0, 11, (6, 3))
    logits, _ = model(x)
    expected = F.cross_entropy(logits.reshape(-1, 11), y.reshape(-1))
    assert torch.allclose(model.compute_loss((x, y)), expected)
    model.reset_state()
    total, n = model.sum_nats((x, y))
    assert n == 18 and math.isclose(total / n, float(expected.detach()), rel_tol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_state_at_start_of_chunk_k_plus_1_is_detached_end_state_of_chunk_k(cell):
    model = _model(cell)
    seen = _rnn_inputs(model)
    chunks = list(ContiguousBatches(torch.randint(0, 11, (200,)), batch_size=3, seq_len=8))
    model.on_epoch_start()
    ends = []
    for batch in chunks[:4]:
        loss = model.compute_loss(batch)
        loss.backward()  # would fail on a second pass through chunk k's graph if not detached
        ends.append(model.state)
    assert seen[0] is None  # chunk 0 starts from zeros
    for k in range(3):
        start, end = seen[k + 1], ends[k]
        pairs = zip(start, end) if cell == "lstm" else [(start, end)]
        for s, e in pairs:
            assert torch.equal(s, e)
            assert s.grad_fn is None and not s.requires_grad


def test_carried_chunks_equal_one_pass_over_the_whole_sequence():
    model = _model()
    x = torch.randint(0, 11, (12, 2))
    whole, _ = model(x)  # (12, 2, 11)
    model.reset_state()
    parts = []
    for x_k in x.split(4):
        logits, state = model(x_k, model._carried_for(2))
        model._state = tuple(s.detach() for s in state)
        parts.append(logits)
    assert torch.allclose(torch.cat(parts), whole, atol=1e-6)


def test_gradient_stops_at_the_chunk_boundary():
    model = _model(layers=1)
    x = torch.randint(0, 11, (5, 2))
    model.compute_loss((x, x))
    carried = model.state
    model.zero_grad()
    model.compute_loss((x, x)).backward()
    grads_carried = [p.grad.clone() for p in model.parameters()]
    # The same chunk from the same (constant) state gives the same gradients.
    model.zero_grad()
    logits, _ = model(x, tuple(s.clone() for s in carried))
    F.cross_entropy(logits.reshape(-1, 11), x.reshape(-1)).backward()
    for g, p in zip(grads_carried, model.parameters()):
        assert torch.allclose(g, p.grad)


def test_epoch_and_eval_hooks_reset_the_state():
    model = _model()
    seen = _rnn_inputs(model)
    batch = (torch.randint(0, 11, (4, 3)), torch.randint(0, 11, (4, 3)))
    model.compute_loss(batch)
    assert model.state is not None
    model.on_epoch_start()
    assert model.state is None
    model.compute_loss(batch)
    model.on_eval_start()
    model.compute_loss(batch)
    assert seen[1] is None and seen[2] is None


def test_a_different_batch_size_starts_from_zeros():
    model = _model()
    seen = _rnn_inputs(model)
    model.compute_loss((torch.zeros(4, 3, dtype=torch.long),) * 2)
    model.compute_loss((torch.zeros(4, 2, dtype=torch.long),) * 2)
    assert seen[1] is None


def test_bad_arguments_name_the_argument():
    with pytest.raises(ConfigError, match="hidden_size: must be a positive integer, saw 0"):
        CharLM(10, hidden_size=0)
    with pytest.raises(ConfigError, match=r"dropout: must be in \[0, 1\), saw 1.0"):
        CharLM(10, dropout=1.0)
    with pytest.raises(ConfigError, match="model.cell must be one of lstm, gru, rnn, got 'tcn'"):
        CharLM(10, cell="tcn")
    with pytest.raises(ConfigError, match="model.backend must be one of auto, rnnkit, torch, got 'x'"):
        CharLM(10, backend="x")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_rnnkit_backend_matches_torch_backend_with_copied_weights(cell):
    ours = CharLM(11, 5, 7, 2, cell=cell, backend="rnnkit")
    ref = CharLM(11, 5, 7, 2, cell=cell, backend="torch")
    ours.load_state_dict(ref.state_dict())
    x = torch.randint(0, 11, (6, 3))
    y = torch.randint(0, 11, (6, 3))
    assert torch.allclose(ours(x)[0], ref(x)[0], atol=1e-5)
    ours.compute_loss((x, y)).backward()
    ref.compute_loss((x, y)).backward()
    for (name, a), b in zip(ours.named_parameters(), ref.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5), name
