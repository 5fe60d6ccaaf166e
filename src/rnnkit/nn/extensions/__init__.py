"""Extensions beyond torch.nn for rnnkit's RNN, LSTM and GRU (issue 6).

- :mod:`.layernorm`: layer-normalised LSTM/GRU steps (Ba, Kiros & Hinton 2016);
- :mod:`.recurrent_dropout`: variational dropout on the recurrent state, one mask
  per sequence (Gal & Ghahramani 2016);
- :mod:`.zoneout`: zoneout of h (and c) (Krueger et al. 2017);
- :mod:`.sequence`: the readable plain-autograd loop combining them (any elementwise
  ``nonlinearity`` for the Elman RNN too);
- :mod:`rnnkit.nn.bptt.lstm_ext`: the LSTM loop with all extensions and a hand-written backward;
- :mod:`.stateful`: carrying the final state from one call to the next.

The user-facing switches are keyword arguments of ``rnnkit.nn.LSTM`` & co.
"""
from rnnkit.nn.extensions.options import Extensions

__all__ = ["Extensions"]
