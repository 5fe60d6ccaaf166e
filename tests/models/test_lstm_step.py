"""The generation fast path (models/lstm_step.py) equals the model's own step."""
from __future__ import annotations

import pytest
import torch

from rnnkit.data.text import Vocab
from rnnkit.models.charlm import CharLM
from rnnkit.models.lstm_step import stepper_for
from rnnkit.models.sampling import generate, next_id

VOCAB = Vocab.from_text("abcdefghij klmnop\nqrstuvwxyz.,;:!?")


def _reference(model, prime, length, temperature, seed, top_k=None, top_p=None):
    """The step-by-step loop: model.step for the prime and for every drawn character."""
    g = torch.Generator()
    g.manual_seed(seed)
    ids, _ = VOCAB.encode(prime)
    model.eval()
    x, state, out = ids.view(-1, 1), None, []
    with torch.no_grad():
        for _ in range(length):
            logits, state = model.step(x, state)
            i = next_id(logits[0], temperature, top_k, top_p, g)
            out.append(VOCAB.chars[i])
            x = torch.tensor([[i]])
    return "".join(out)


def _model(layers=1, dtype=torch.float32, backend="auto"):
    torch.manual_seed(3)
    return CharLM(len(VOCAB), 8, 32, layers, "lstm", 0.1, backend).to(dtype)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stepper_logits_equal_the_model_step(layers, dtype):
    model = _model(layers, dtype).eval()
    stepper = stepper_for(model)
    assert stepper is not None
    ids = torch.randint(0, len(VOCAB), (40,), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        _, state = model.step(ids[:5].view(-1, 1), None)
        stepper.set_state(state)
        for i in ids[5:].tolist():
            want, state = model.step(torch.tensor([[i]]), state)
            got = stepper.step(i)
            tol = 1e-5 if dtype == torch.float32 else 1e-12
            torch.testing.assert_close(got, want[0], atol=tol, rtol=tol)
    torch.testing.assert_close(stepper.h, state[0], atol=tol, rtol=tol)
    torch.testing.assert_close(stepper.c, state[1], atol=tol, rtol=tol)


@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_greedy_generation_equals_the_step_by_step_reference(backend):
    model = _model(2, backend=backend)
    got = "".join(generate(model, VOCAB, prime="abc", length=200, temperature=0.0))
    assert got == _reference(model, "abc", 200, 0.0, 0)


def test_seeded_sampling_equals_the_reference_and_repeats():
    model = _model()
    kw = dict(prime="hello", length=200, temperature=0.8, seed=7)
    first = "".join(generate(model, VOCAB, **kw))
    assert first == "".join(generate(model, VOCAB, **kw))
    assert first == _reference(model, "hello", 200, 0.8, 7)
    assert "".join(generate(model, VOCAB, **{**kw, "seed": 8})) != first
    filtered = "".join(generate(model, VOCAB, "hello", 100, 1.2, 5, 0.9, seed=7))
    assert filtered == _reference(model, "hello", 100, 1.2, 7, top_k=5, top_p=0.9)


def test_other_models_take_the_ordinary_step():
    torch.manual_seed(0)
    gru = CharLM(len(VOCAB), 8, 16, 1, "gru")
    assert stepper_for(gru) is None
    assert len("".join(generate(gru, VOCAB, "ab", 30, seed=1))) == 30
