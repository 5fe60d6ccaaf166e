"""Drop-in replacements for torch.nn's recurrent layers and cells.

``RNN``, ``LSTM`` and ``GRU`` take torch.nn's arguments, hold torch.nn's parameters
(``state_dict`` files load either way) and give torch.nn's results; a ``backend`` keyword
chooses between this package's code and torch's fused kernel (see docs/nn.md).
"""
from rnnkit.nn.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.gru import GRU
from rnnkit.nn.lstm import LSTM
from rnnkit.nn.minimal import MinGRU, MinLSTM
from rnnkit.nn.rnn import RNN

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MinGRU", "MinLSTM"]
