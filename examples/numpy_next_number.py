"""The tutorial's next-number task, in NumPy alone: an Elman RNN trained by hand-written BPTT.

Each sequence counts up in a fixed step, e.g. 3, 7, 11, 15, and the model reads one
number at a time and predicts the next: 7, 11, 15, 19. The step differs from sequence
to sequence, so one number alone is not enough: the RNN must remember what it saw.
Inputs and targets are divided by SCALE so they stay near [0, 1] (the tutorial's
"scaled inputs").

    h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)        rnnkit.reference.RNN
    y_t = W_hy h_t + b_y                                     rnnkit.reference.Output
    L   = mean_t,b (y_t - x_{t+1})^2                         rnnkit.reference.mse_loss

Run:  python examples/numpy_next_number.py
"""
from __future__ import annotations

import numpy as np

from rnnkit.reference import RNN, Adam, Output, mse_loss

SCALE = 10.0
T, B, H = 6, 32, 24  # sequence length, batch size, hidden size
STEPS = 800


def make_batch(rng: np.random.Generator, batch: int):
    """x (T, B, 1): start + step * t, scaled; target (T, B, 1): the next numbers."""
    start = rng.integers(0, 10, size=batch)  # (B,)
    step = rng.integers(1, 5, size=batch)  # (B,)
    numbers = start[None, :] + step[None, :] * np.arange(T + 1)[:, None]  # (T+1, B)
    seq = (numbers / SCALE)[:, :, None]  # (T+1, B, 1)
    return seq[:-1], seq[1:]


def main() -> None:
    rng = np.random.default_rng(0)
    rnn = RNN(1, H, nonlinearity="tanh", seed=rng)
    head = Output(H, 1, seed=rng)
    params = {**{f"rnn.{k}": v for k, v in rnn.params.items()},
              **{f"head.{k}": v for k, v in head.params.items()}}
    optim = Adam(params, lr=3e-3)

    for it in range(1, STEPS + 1):
        x, target = make_batch(rng, B)
        h, _, cache = rnn.forward(x)  # (T, B, H)
        y, head_cache = head.forward(h)  # (T, B, 1)
        loss, dy = mse_loss(y, target)  # the loss and dL/dy
        dh, head_grads = head.backward(dy, head_cache)  # (T, B, H)
        _, _, rnn_grads = rnn.backward(dh, cache)  # BPTT through all T steps
        optim.step({**{f"rnn.{k}": g for k, g in rnn_grads.items()},
                    **{f"head.{k}": g for k, g in head_grads.items()}})
        if it == 1 or it % 100 == 0:
            print(f"step {it:4d}  MSE {loss:.6f}  (RMSE {np.sqrt(loss) * SCALE:.2f} in numbers)")

    x, target = make_batch(np.random.default_rng(1), 500)
    y, _ = head.forward(rnn.forward(x)[0])
    last = slice(T - 1, T)  # the last prediction of each sequence, after T numbers
    rmse = np.sqrt(mse_loss(y[last], target[last])[0]) * SCALE
    naive = np.sqrt(mse_loss(x[last], target[last])[0]) * SCALE
    print(f"held-out RMSE of the last prediction: {rmse:.2f} "
          f"(repeating the last number: {naive:.2f})")
    seen = ", ".join(f"{v:.0f}" for v in x[:, 0, 0] * SCALE)
    print(f"{seen} -> predicted {y[-1, 0, 0] * SCALE:.2f}, true {target[-1, 0, 0] * SCALE:.0f}")


if __name__ == "__main__":
    main()
