"""Shared construction of the sequence layers: arguments and parameters.

``RNNBase`` owns what ``RNN``, ``LSTM`` and ``GRU`` have in common at construction:

- the constructor arguments and their validation, in torch.nn's order and wording, so a
  mistake raises the exception a ``torch.nn`` user already knows;
- the parameters ``weight_ih_l{k}[_reverse]`` (G·H, I_k), ``weight_hh_l{k}`` (G·H, H_out),
  ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G·H,) and, for a projected LSTM, ``weight_hr_l{k}``
  (H_out, H), created in torch's order so ``state_dict`` files load either way;
- the initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H));
- the repr and unpickling of older layers.

What a forward call does (argument checks, backend choice, the run through the layers,
the way back to torch.nn) comes from :class:`rnnkit.nn.forward.ForwardDispatch`.

G is 4 for LSTM (gates i, f, g, o), 3 for GRU (r, z, n) and 1 for RNN. H_out is
``proj_size`` when it is set, else ``hidden_size``. I_k is ``input_size`` for layer 0
and D·H_out above it (D = 2 when bidirectional).
"""
from __future__ import annotations

import math
import numbers
import warnings

import torch
from torch import Tensor, nn

from rnnkit.errors import RnnkitError
from rnnkit.nn.extensions import runner as ext_runner
from rnnkit.nn.extensions import stateful as ext_stateful
from rnnkit.nn.extensions.options import Extensions
from rnnkit.nn.forward import ForwardDispatch

__all__ = ["RNNBase", "BACKENDS", "GATES"]

BACKENDS = ("auto", "rnnkit", "torch")
GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def check_backend(backend: object) -> str:
    if backend not in BACKENDS:
        raise RnnkitError(
            f"backend must be one of 'auto', 'rnnkit', 'torch', got {backend!r}"
        )
    return backend  # type: ignore[return-value]


class RNNBase(ForwardDispatch, nn.Module):
    """Arguments and parameters shared by RNN, LSTM and GRU (see the module doc); the
    forward checks and the backend dispatch come from ``ForwardDispatch``."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        *,
        backend: str = "auto",
        layer_norm: bool = False,
        recurrent_dropout: float = 0.0,
        zoneout: float = 0.0,
        nonlinearity="tanh",
        stateful: bool = False,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        # Extensions beyond torch.nn (docs/extensions.md); the defaults are the plain layer.
        self.extensions = Extensions.checked(layer_norm, recurrent_dropout, zoneout, nonlinearity)
        if self.extensions.active and proj_size > 0:
            raise ValueError(f"{self.extensions.describe()} does not support proj_size > 0, "
                             f"got proj_size={proj_size}")
        if not isinstance(stateful, bool):
            raise ValueError(f"stateful must be True or False, got {stateful!r}")
        self.stateful = stateful
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)  # as torch: a non-number fails here, with float()'s words
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        self.backend = check_backend(backend)
        self._check_arguments(dropout)

        num_directions = 2 if bidirectional else 1
        gate_size = GATES[mode] * hidden_size  # G·H
        out_size = proj_size if proj_size > 0 else hidden_size  # H_out
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_size * num_directions
            for direction in range(num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, out_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                names = []
                for stem, shape in shapes:
                    setattr(self, stem + suffix, nn.Parameter(torch.empty(shape, **factory)))
                    names.append(stem + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
                if layer_norm:
                    ext_runner.add_ln_parameters(self, mode, hidden_size, suffix, factory)
        self.reset_parameters()
        if stateful:
            ext_stateful.attach_stateful(self)

    def _check_arguments(self, dropout: object) -> None:
        """torch.nn.RNNBase's checks, in its order and with its messages."""
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability "
                "of an element being zeroed"
            )
        if dropout > 0 and self.num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                "dropout expects num_layers greater than 1, but got "
                f"dropout={dropout} and num_layers={self.num_layers}",
                stacklevel=4,
            )
        for name in ("bias", "batch_first"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
        for name in ("input_size", "hidden_size"):
            value = getattr(self, name)
            if not isinstance(value, int):
                raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
            if value <= 0:
                raise ValueError(f"{name} must be greater than zero")
        if self.num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if self.proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if self.proj_size >= self.hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")

    # ------------------------------------------------------------------ parameters
    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-k, k), k = 1/sqrt(hidden_size), as torch.nn."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)
        ext_runner.reset_ln_parameters(self)  # layer-norm gains 1, biases 0

    def reset_state(self) -> None:
        """Forget the state carried between calls by ``stateful=True`` (a no-op otherwise)."""
        ext_stateful.reset_state(self)

    def flatten_parameters(self) -> None:
        """A no-op, kept so code written for torch.nn runs unchanged."""

    @property
    def _flat_weights(self) -> list[Tensor]:
        # Looked up on every call so functional_call and reassigned parameters just work.
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def layer_weights(self, layer: int, direction: int) -> tuple:
        """(weight_ih, weight_hh, bias_ih|None, bias_hh|None, weight_hr|None) of one layer."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        params = self._parameters  # direct lookups: nn.Module.__getattr__ costs µs per call;
        # weights that are not plain parameters (weight_norm, parametrize, ...) go through getattr
        names = [stem + suffix for stem in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]
        return tuple(params[n] if n in params else getattr(self, n, None) for n in names)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        if self.backend != "auto":
            s += f", backend={self.backend!r}"
        extensions = getattr(self, "extensions", Extensions())
        if extensions.active:
            s += ", " + extensions.describe()
        if getattr(self, "stateful", False):
            s += ", stateful=True"
        return s

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        # Pickles from before a field existed still load.
        self.__dict__.setdefault("backend", "auto")
        self.__dict__.setdefault("extensions", Extensions())
        self.__dict__.setdefault("stateful", False)
