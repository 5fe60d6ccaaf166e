"""rnnkit.reference: RNN, LSTM and GRU in NumPy with hand-written BPTT, the oracle.

NumPy only (this package never imports torch). Parameters carry torch.nn's exact names,
shapes and gate order, so ``layer.load_state_dict({k: v.detach().numpy() for k, v in
torch_module.state_dict().items()})`` loads a ``torch.nn.RNN/LSTM/GRU`` unchanged.

    y, state_n, cache = layer.forward(x, state)            # x (T, B, I)
    dx, dstate0, grads = layer.backward(dy, cache, dstate, truncate=None)

See docs/reference.md for the equations, the BPTT recurrences and the truncation rule.
"""
from __future__ import annotations

from rnnkit.reference.gradcheck import (
    GradcheckResult,
    check_gradients,
    gradcheck,
    numerical_gradient,
    relative_error,
)
from rnnkit.reference.gru import GRU
from rnnkit.reference.losses import cross_entropy_loss, mse_loss, nll_loss
from rnnkit.reference.lstm import LSTM
from rnnkit.reference.optim import Adam
from rnnkit.reference.output import Output, softmax
from rnnkit.reference.rnn import RNN

__all__ = [
    "RNN",
    "LSTM",
    "GRU",
    "Output",
    "softmax",
    "mse_loss",
    "cross_entropy_loss",
    "nll_loss",
    "Adam",
    "gradcheck",
    "check_gradients",
    "numerical_gradient",
    "relative_error",
    "GradcheckResult",
]
