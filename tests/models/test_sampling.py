"""Sampling controls: temperature, top-k, top-p, seed, prime, streaming, length."""
from __future__ import annotations

import pytest
import torch

from rnnkit.data.text import Vocab
from rnnkit.errors import ConfigError
from rnnkit.models.charlm import CharLM
from rnnkit.models.sampling import generate, next_id

TEXT = "to be or not to be, that is the question:\nwhether 'tis nobler in the mind\n"


@pytest.fixture
def lm():
    torch.manual_seed(3)
    vocab = Vocab.from_text(TEXT)
    model = CharLM(len(vocab), embed_dim=8, hidden_size=16, num_layers=1)
    with torch.no_grad():  # sharper logits than the tiny initialisation, so choices matter
        model.head.weight.mul_(20)
    return model.eval(), vocab


@torch.no_grad()
def greedy(model, vocab, prime, length):
    """Plain argmax decoding written independently of rnnkit.models.sampling."""
    ids, _ = vocab.encode(prime)
    logits, state = model(ids.view(-1, 1))
    out, gaps = [], []
    for _ in range(length):
        top2 = logits[-1, 0].topk(2).values
        gaps.append(float(top2[0] - top2[1]))
        i = int(logits[-1, 0].argmax())
        out.append(vocab.chars[i])
        logits, state = model(torch.tensor([[i]]), state)
    greedy.min_gap = min(gaps)  # the closest call along the greedy path
    return "".join(out)


def sample(model, vocab, **kw):
    return "".join(generate(model, vocab, **kw))


def test_temperature_zero_and_near_zero_equal_greedy(lm):
    model, vocab = lm
    expected = greedy(model, vocab, "to be", 40)
    assert sample(model, vocab, prime="to be", length=40, temperature=0.0) == expected
    # As the temperature shrinks, sampling becomes greedy: at tau = gap / 40 the runner-up
    # of the closest call has probability below e^-40 relative to the argmax.
    tau = greedy.min_gap / 40
    assert 0 < tau < 0.1
    for seed in (0, 1, 2):
        assert sample(model, vocab, prime="to be", length=40, temperature=tau, seed=seed) == expected


def test_top_k_one_equals_greedy_at_any_temperature(lm):
    model, vocab = lm
    expected = greedy(model, vocab, "whether", 40)
    for seed in (0, 5):
        assert sample(model, vocab, prime="whether", length=40, temperature=1.5, top_k=1,
                      seed=seed) == expected


def test_tiny_top_p_equals_greedy(lm):
    model, vocab = lm
    assert sample(model, vocab, prime="t", length=30, top_p=1e-6, seed=4) == greedy(model, vocab, "t", 30)


def test_same_seed_same_sample_different_seed_different_sample(lm):
    model, vocab = lm
    a = sample(model, vocab, prime="the", length=80, temperature=1.0, seed=7)
    torch.manual_seed(123)  # the global RNG must not matter
    b = sample(model, vocab, prime="the", length=80, temperature=1.0, seed=7)
    c = sample(model, vocab, prime="the", length=80, temperature=1.0, seed=8)
    assert a == b and a != c


def test_length_limit_and_streaming(lm):
    model, vocab = lm
    assert len(sample(model, vocab, length=0)) == 0
    assert len(sample(model, vocab, prime="to", length=37, seed=1)) == 37
    stream = generate(model, vocab, prime="to", length=10**6)
    first = next(stream)  # a character arrives before the rest are drawn
    assert isinstance(first, str) and len(first) == 1
    stream.close()


def test_top_k_only_draws_among_the_k_likeliest():
    logits = torch.tensor([0.0, 3.0, 2.9, -1.0, 2.8, 0.5])
    g = torch.Generator().manual_seed(0)
    drawn = {next_id(logits, 1.0, top_k=3, generator=g) for _ in range(300)}
    assert drawn == {1, 2, 4}


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    g = torch.Generator().manual_seed(0)
    drawn = {next_id(probs.log(), 1.0, top_p=0.7, generator=g) for _ in range(300)}
    assert drawn == {0, 1}  # 0.5 < 0.7 <= 0.5 + 0.3
    drawn = {next_id(probs.log(), 1.0, top_p=0.9, generator=g) for _ in range(500)}
    assert drawn == {0, 1, 2}


def test_prime_with_unseen_characters_maps_to_unknown(lm):
    model, vocab = lm
    text = sample(model, vocab, prime="Zébra", length=5, seed=0)
    assert len(text) == 5
    assert all(ch in vocab.chars for ch in text)


@pytest.mark.parametrize("kw, message", [
    (dict(length=-1), r"--length: must be an integer in \[0, 1000000\], saw -1"),
    (dict(temperature=-0.5), "--temperature: must be >= 0 and finite, saw -0.5"),
    (dict(top_k=0), "--top-k: must be an integer >= 1, saw 0"),
    (dict(top_p=0.0), r"--top-p: must be in \(0, 1\], saw 0.0"),
    (dict(top_p=1.5), r"--top-p: must be in \(0, 1\], saw 1.5"),
])
def test_bad_sampling_arguments(lm, kw, message):
    model, vocab = lm
    with pytest.raises(ConfigError, match=message):
        sample(model, vocab, **kw)
