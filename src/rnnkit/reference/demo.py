"""The NumPy-only demo: an LSTM learns to continue sine waves, trained with hand BPTT + Adam.

Each sequence is x_t = sin(w t + phi) with its own frequency w ~ U(0.15, 0.6) and phase
phi ~ U(0, 2 pi). At every step the model reads x_t and predicts x_{t+1}. A single value
cannot tell the frequency, so the model must remember the past: the baseline that repeats
the last value has a mean squared error near E[w^2]/2 ~ 0.07, which a trained LSTM beats
many times over. Everything here is rnnkit.reference (NumPy): no torch.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from rnnkit.errors import RnnkitError
from rnnkit.reference.losses import mse_loss
from rnnkit.reference.lstm import LSTM
from rnnkit.reference.optim import Adam
from rnnkit.reference.output import Output

__all__ = ["sine_batch", "DemoResult", "run_demo"]


def sine_batch(rng: np.random.Generator, batch: int, steps: int):
    """Return (x, target, w): x (T, B, 1) = sin(w t + phi) for t < T, target (T, B, 1) the
    same waves one step later, w (B,) the frequencies."""
    w = rng.uniform(0.15, 0.6, size=batch)  # (B,)
    phi = rng.uniform(0.0, 2.0 * np.pi, size=batch)  # (B,)
    t = np.arange(steps + 1)[:, None]  # (T+1, 1)
    wave = np.sin(w[None, :] * t + phi[None, :])[:, :, None]  # (T+1, B, 1)
    return wave[:-1], wave[1:], w


@dataclass
class DemoResult:
    """What the demo measured: training losses and held-out errors."""

    history: list[tuple[int, float]] = field(default_factory=list)  # (step, train MSE)
    test_mse: float = float("nan")  # the trained model on held-out waves
    baseline_mse: float = float("nan")  # "repeat the last value" on the same waves
    example: dict = field(default_factory=dict)  # one held-out wave: w, inputs, truth, pred


def _check(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RnnkitError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return value


def run_demo(
    steps: int = 400,
    hidden_size: int = 16,
    seq_len: int = 24,
    batch_size: int = 32,
    lr: float = 1e-2,
    seed: int = 0,
    log: Callable[[str], None] | None = print,
    log_every: int = 50,
) -> DemoResult:
    """Train LSTM(1, H) + Output(H, 1) by full BPTT and Adam; return the measured result."""
    steps = _check("steps", steps, 1)
    hidden_size = _check("hidden_size", hidden_size, 1)
    seq_len = _check("seq_len", seq_len, 2)
    batch_size = _check("batch_size", batch_size, 1)
    say = log or (lambda _msg: None)
    rng = np.random.default_rng(seed)
    lstm = LSTM(1, hidden_size, seed=rng)
    head = Output(hidden_size, 1, seed=rng)
    params = {**{f"lstm.{k}": v for k, v in lstm.params.items()},
              **{f"head.{k}": v for k, v in head.params.items()}}  # views of the same arrays
    optim = Adam(params, lr=lr)
    result = DemoResult()
    say(f"NumPy LSTM(1, {hidden_size}) learns to continue sine waves "
        f"({steps} Adam steps, batches of {batch_size} x {seq_len} steps, hand-written BPTT)")

    for step in range(1, steps + 1):
        x, target, _ = sine_batch(rng, batch_size, seq_len)  # (T, B, 1) each
        h, _, cache = lstm.forward(x)  # (T, B, H)
        pred, head_cache = head.forward(h)  # (T, B, 1)
        loss, dpred = mse_loss(pred, target)
        dh, head_grads = head.backward(dpred, head_cache)  # (T, B, H)
        _, _, lstm_grads = lstm.backward(dh, cache)
        optim.step({**{f"lstm.{k}": g for k, g in lstm_grads.items()},
                    **{f"head.{k}": g for k, g in head_grads.items()}})
        if step == 1 or step % log_every == 0 or step == steps:
            result.history.append((step, loss))
            say(f"step {step:4d}  train MSE {loss:.5f}")

    x, target, w = sine_batch(np.random.default_rng(seed + 10_000), 256, seq_len)
    pred, _ = head.forward(lstm.forward(x)[0])  # (T, 256, 1)
    result.test_mse = mse_loss(pred, target)[0]
    result.baseline_mse = mse_loss(x, target)[0]
    result.example = {"w": float(w[0]), "inputs": x[-4:, 0, 0].tolist(),
                      "truth": float(target[-1, 0, 0]), "pred": float(pred[-1, 0, 0])}
    say(f"held-out MSE {result.test_mse:.5f}; repeating the last value gives "
        f"{result.baseline_mse:.5f}")
    ex = result.example
    shown = ", ".join(f"{v:+.3f}" for v in ex["inputs"])
    say(f"prediction: after ..., {shown} (w = {ex['w']:.3f}) the next value is "
        f"{ex['pred']:+.3f}; the truth is {ex['truth']:+.3f}")
    return result
