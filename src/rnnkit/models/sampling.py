"""Sampling text from a character language model, one character at a time.

Given logits z (V,) for the next character, the sampler draws from

    p_i ∝ exp(z_i / τ)          temperature τ > 0 (τ = 0 means greedy: argmax z)

after two optional filters, applied in this order:

- top-k: keep the k largest logits, set the rest to -inf (k = 1 is greedy);
- top-p (nucleus): keep the smallest set of most likely characters whose
  probabilities (after temperature) sum to at least p; the most likely character
  is always kept, so p → 0 is greedy too.

Ties in greedy decoding go to the lowest id (torch.argmax). Randomness comes only
from a private ``torch.Generator`` seeded with ``seed``, so the same model, prime,
settings and seed give the same text, whatever else uses the global RNG.

:func:`generate` is a generator: it yields each character as soon as it is drawn
(for streaming output) and stops after ``length`` characters. After the prime (one
call of ``model.step``), an LSTM character LM steps through
:class:`~rnnkit.models.lstm_step.LSTMStepper` (the same equations, without the
per-call overhead of the model's forward); other models call ``model.step`` per
character.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterator

import torch
from torch import Tensor

from rnnkit.data.text import Vocab
from rnnkit.errors import ConfigError
from rnnkit.models.lstm_step import stepper_for

__all__ = ["generate", "next_id", "check_sampling_args", "encode_prime", "MAX_LENGTH"]

MAX_LENGTH = 1_000_000


def check_sampling_args(length: int, temperature: float, top_k: int | None,
                        top_p: float | None, cli: bool = True) -> None:
    """Raise ConfigError naming the argument for any out-of-range value: as the command line
    spells it (``--top-k``), or with ``cli=False`` as Python does (``top_k``)."""
    def name(option: str) -> str:
        return f"--{option}" if cli else option.replace("-", "_")

    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= MAX_LENGTH:
        raise ConfigError(f"{name('length')}: must be an integer in [0, {MAX_LENGTH}], saw {length}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not temperature >= 0.0 or temperature == float("inf"):
        raise ConfigError(f"{name('temperature')}: must be >= 0 and finite, saw {temperature}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ConfigError(f"{name('top-k')}: must be an integer >= 1, saw {top_k}")
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float))
                              or not 0.0 < top_p <= 1.0):
        raise ConfigError(f"{name('top-p')}: must be in (0, 1], saw {top_p}")


def next_id(logits: Tensor, temperature: float = 1.0, top_k: int | None = None,
            top_p: float | None = None, generator: torch.Generator | None = None) -> int:
    """Draw one id from logits (V,) under the rules in the module docstring."""
    logits = logits.detach().float()  # (V,)
    if temperature == 0.0 or top_k == 1:
        return int(torch.argmax(logits))
    z = logits / temperature  # (V,)
    if top_k is not None and top_k < z.numel():
        kth = torch.topk(z, top_k).values[-1]
        z = z.masked_fill(z < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        probs = torch.softmax(z, dim=-1)  # (V,)
        sorted_p, order = torch.sort(probs, descending=True)  # (V,), (V,)
        before = torch.cumsum(sorted_p, dim=-1) - sorted_p  # mass strictly ahead of each
        drop_sorted = before >= top_p  # keeps the first one always
        drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)
        z = z.masked_fill(drop, float("-inf"))
    probs = torch.softmax(z, dim=-1)  # (V,)
    try:  # multinomial itself refuses inf/NaN (the cheapest check per step)
        return int(torch.multinomial(probs, 1, generator=generator))
    except RuntimeError:  # extreme temperatures overflow z: fall back to greedy
        return int(torch.argmax(logits))


def encode_prime(vocab: Vocab, prime: str) -> tuple[Tensor, Counter]:
    """Prime ids (N,) with unseen characters mapped to the unknown symbol, and
    the Counter of those characters (for a one-line warning)."""
    return vocab.encode(prime)


@torch.no_grad()
def generate(model, vocab: Vocab, prime: str = "", length: int = 200,
             temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
             seed: int | None = None) -> Iterator[str]:
    """Yield ``length`` characters continuing ``prime``.

    ``model.step(ids (T, 1), state) -> (logits (1, V), state)`` reads the prime in
    one call and then one character per step. An empty prime starts from a newline
    when the vocabulary has one (the start of a speech), else from the unknown
    symbol. The model is put in eval mode; its carried training state is untouched.
    """
    check_sampling_args(length, temperature, top_k, top_p)
    generator = torch.Generator()
    generator.manual_seed(0 if seed is None else int(seed))
    if not prime:
        prime = "\n" if "\n" in vocab.chars else vocab.chars[0]
    ids, _ = encode_prime(vocab, prime)
    model.eval()
    if length == 0:
        return
    device = next(model.parameters()).device
    logits, state = model.step(ids.view(-1, 1).to(device), None)  # the prime (T, 1): (1, V)
    logits = logits[0]  # (V,)
    stepper = stepper_for(model)
    if stepper is not None:
        stepper.set_state(state)
    chars = vocab.chars
    for n in range(length):
        i = next_id(logits, temperature, top_k, top_p, generator)
        yield chars[i]
        if n + 1 == length:
            break
        if stepper is not None:
            logits = stepper.step(i)  # (V,)
        else:
            x = torch.tensor([[i]], dtype=torch.int64, device=device)  # (1, 1)
            logits, state = model.step(x, state)
            logits = logits[0]
