"""Hand-written BPTT kernels: the fast "rnnkit" path of ``rnnkit.nn``'s layers.

One function per cell type runs one layer-direction over a whole time-major sequence,
with the contract of ``rnnkit.nn.functional`` (docs/ARCHITECTURE.md)::

    lstm_sequence(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, weight_hr=None,
                  batch_sizes=None, reverse=False) -> (y, h_n, c_n)
    gru_sequence(x, h0, weight_ih, weight_hh, bias_ih, bias_hh,
                 batch_sizes=None, reverse=False) -> (y, h_n)
    rnn_sequence(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity="tanh",
                 batch_sizes=None, reverse=False) -> (y, h_n)

Every combination the contract allows is supported (projection, missing biases,
``batch_sizes`` with hold semantics, ``reverse``, any floating dtype and device). Each
is a ``torch.autograd.Function`` with its backward written out (see each module's
docstring); double backward recomputes the layer under plain autograd. None of them
calls torch's fused recurrent kernels. Timings: docs/performance.md.
"""
from rnnkit.nn.bptt.gru import gru_sequence
from rnnkit.nn.bptt.lstm import lstm_sequence
from rnnkit.nn.bptt.rnn import rnn_sequence

__all__ = ["lstm_sequence", "gru_sequence", "rnn_sequence"]
