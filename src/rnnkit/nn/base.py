"""Shared machinery of the sequence layers: parameters, checks, backend choice.

``RNNBase`` owns what ``RNN``, ``LSTM`` and ``GRU`` have in common:

- the constructor arguments and their validation, in torch.nn's order and wording, so a
  mistake raises the exception a ``torch.nn`` user already knows;
- the parameters ``weight_ih_l{k}[_reverse]`` (G·H, I_k), ``weight_hh_l{k}`` (G·H, H_out),
  ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G·H,) and, for a projected LSTM, ``weight_hr_l{k}``
  (H_out, H), created in torch's order so ``state_dict`` files load either way;
- the initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H));
- the forward-argument checks (input size, hidden size, dtype);
- the choice between this package's code and torch's fused kernel (``backend``).

G is 4 for LSTM (gates i, f, g, o), 3 for GRU (r, z, n) and 1 for RNN. H_out is
``proj_size`` when it is set, else ``hidden_size``. I_k is ``input_size`` for layer 0
and D·H_out above it (D = 2 when bidirectional).

Backend rule (``backend="auto"``): this package's code when torch has no fused kernel
for the configuration; torch's kernel when only the plain-autograd loops could run;
otherwise the decision table of ``rnnkit.nn.backend_choice`` (mode, training or
inference, packed, projection, hidden size, device, dtype, fused loops built), filled
from benchmarks/bench_layers.py (docs/performance.md). ``SEQUENCE_IMPL`` picks, for the "rnnkit" path, between the
hand-written BPTT kernels in ``rnnkit.nn.bptt`` and the plain-autograd loops in
``rnnkit.nn.functional``; tests switch it to run both.
"""
from __future__ import annotations

import math
import numbers
import warnings

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnkit.errors import RnnkitError
from rnnkit.nn import backend_choice, kernels, stack
from rnnkit.nn.extensions import runner as ext_runner
from rnnkit.nn.extensions import stateful as ext_stateful
from rnnkit.nn.extensions.options import Extensions
from rnnkit.nn.packing import permute, unpack_input

__all__ = ["RNNBase", "BACKENDS", "GATES"]

BACKENDS = ("auto", "rnnkit", "torch")
GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def check_backend(backend: object) -> str:
    if backend not in BACKENDS:
        raise RnnkitError(
            f"backend must be one of 'auto', 'rnnkit', 'torch', got {backend!r}"
        )
    return backend  # type: ignore[return-value]


class RNNBase(nn.Module):
    """Parameters, checks and dispatch shared by RNN, LSTM and GRU (see the module doc)."""

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

    # ------------------------------------------------------------------ checks
    def check_input(self, input: Tensor, batch_sizes: Tensor | None) -> None:
        weight_dtype = self.weight_ih_l0.dtype
        if input.dtype != weight_dtype and not torch._C._is_any_autocast_enabled():
            raise ValueError(
                f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight_dtype}). "
                f"Convert input: input.to({weight_dtype}), or convert model: model.to({input.dtype})"
            )
        expected_dim = 2 if batch_sizes is not None else 3
        if input.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(
                "input.size(-1) must be equal to input_size. "
                f"Expected {self.input_size}, got {input.size(-1)}"
            )

    def expected_state_size(self, input: Tensor, batch_sizes: Tensor | None, cell: bool = False):
        if batch_sizes is not None:
            batch = int(batch_sizes[0])
        else:
            batch = input.size(0) if self.batch_first else input.size(1)
        width = self.hidden_size if cell or self.proj_size == 0 else self.proj_size
        return (self.num_layers * (2 if self.bidirectional else 1), batch, width)

    @staticmethod
    def check_hidden_size(hx: Tensor, expected: tuple, msg: str = "Expected hidden size {}, got {}") -> None:
        if hx.size() != expected:
            raise RuntimeError(msg.format(expected, list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes: Tensor | None) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.expected_state_size(input, batch_sizes))

    def _forward_one_state(self, input, hx: Tensor | None, dim_error: str):
        """forward of RNN and GRU (one state tensor), with torch's checks and messages.

        ``dim_error`` is the class's message for input that is neither 2-D nor 3-D, with
        ``{}`` for the dimension seen.
        """
        data, batch_sizes, sorted_indices, unsorted_indices = unpack_input(input)
        is_batched = True
        batch_dim = 0 if self.batch_first else 1
        layers = self.num_layers * (2 if self.bidirectional else 1)
        if batch_sizes is not None:
            if hx is None:
                hx = data.new_zeros(layers, int(batch_sizes[0]), self.hidden_size)  # (L·D, B, H)
            else:
                hx = permute((hx,), sorted_indices)[0]
        else:
            if data.dim() not in (2, 3):
                raise ValueError(dim_error.format(data.dim()))
            is_batched = data.dim() == 3
            if not is_batched:
                data = data.unsqueeze(batch_dim)  # (T, 1, I) or (1, T, I)
                if hx is not None:
                    if hx.dim() != 2:
                        raise RuntimeError(
                            f"For unbatched 2-D input, hx should also be 2-D but got {hx.dim()}-D tensor"
                        )
                    hx = hx.unsqueeze(1)  # (L·D, 1, H)
            elif hx is not None and hx.dim() != 3:
                raise RuntimeError(
                    f"For batched 3-D input, hx should also be 3-D but got {hx.dim()}-D tensor"
                )
            if hx is None:
                hx = data.new_zeros(layers, data.size(batch_dim), self.hidden_size)  # (L·D, B, H)
        self.check_forward_args(data, hx, batch_sizes)
        output, (h_n,) = self.run(data, (hx,), batch_sizes)
        if batch_sizes is not None:
            packed = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
            return packed, permute((h_n,), unsorted_indices)[0]
        if not is_batched:
            return output.squeeze(batch_dim), h_n.squeeze(1)
        return output, h_n

    # ------------------------------------------------------------------ dispatch
    def torch_kernel_unsupported(self) -> str | None:
        """Why torch has no fused kernel for this configuration, or None when it has one.

        Extensions (layer norm, zoneout, ...) name themselves here.
        """
        extensions = getattr(self, "extensions", None)
        return extensions.describe() if extensions is not None and extensions.active else None

    def resolved_backend(self, packed: bool = False, rows: int | None = None) -> str:
        """"torch" or "rnnkit": what a forward call runs now (``packed``: for PackedSequence
        input; ``rows``: B·T of the call, when known; see the module doc)."""
        reason = self.torch_kernel_unsupported()
        if self.backend == "torch":
            if reason is not None:
                raise RnnkitError(
                    f"backend='torch': torch has no fused kernel for {type(self).__name__} with "
                    f"{reason}; use backend='rnnkit' or backend='auto'"
                )
            return "torch"
        if self.backend == "rnnkit" or reason is not None:
            return "rnnkit"
        # asked on every forward: direct lookups (nn.Module.__getattr__ and .device cost µs)
        weight = self._parameters.get("weight_ih_l0")
        if weight is None:
            weight = self.weight_ih_l0
        if not stack.has_fast_kernel(self.mode):  # only the plain-autograd loops: torch
            return "torch"
        cpu = weight.is_cpu
        return backend_choice.choose(
            self.mode,
            torch.is_grad_enabled() and weight.requires_grad,
            packed,
            self.proj_size > 0,
            self.hidden_size,
            "cpu" if cpu else weight.device.type,
            weight.dtype,
            cpu and kernels.available(),
            rows is not None and rows <= backend_choice.SMALL_CALL_ROWS,
        )

    def run(self, input: Tensor, hx: tuple, batch_sizes: Tensor | None) -> tuple[Tensor, tuple]:
        """Run the checked input through all layers.

        ``input``: (T, B, I), or (B, T, I) when batch_first, or packed data (N, I) when
        ``batch_sizes`` is given; ``hx``: tuple of (L·D, B, H_out) [and (L·D, B, H)].
        Returns the output in the input's layout and the tuple of final states.
        """
        rows = input.numel() // max(1, input.size(-1))  # B·T (or packed N)
        if self.resolved_backend(batch_sizes is not None, rows) == "torch":
            return self._run_torch(input, hx, batch_sizes)
        return stack.run_layers(self, input, hx, batch_sizes)

    def run_direction(self, x: Tensor, states: tuple, layer: int, direction: int, batch_sizes):
        """One layer-direction on the "rnnkit" path: x (T, B, I_k) -> y (T, B, H_out), states.

        Extensions that change the recurrence go to ``rnnkit.nn.extensions``.
        """
        if self.extensions.active:
            return ext_runner.run_extended_direction(self, x, states, layer, direction, batch_sizes)
        return stack.run_direction(self, x, states, layer, direction, batch_sizes)

    def _run_torch(self, input: Tensor, hx: tuple, batch_sizes: Tensor | None):
        kernel = {
            "LSTM": torch._VF.lstm,
            "GRU": torch._VF.gru,
            "RNN_TANH": torch._VF.rnn_tanh,
            "RNN_RELU": torch._VF.rnn_relu,
        }[self.mode]
        state = list(hx) if self.mode == "LSTM" else hx[0]
        flags = (self.bias, self.num_layers, self.dropout, self.training, self.bidirectional)
        if batch_sizes is None:
            result = kernel(input, state, self._flat_weights, *flags, self.batch_first)
        else:
            result = kernel(input, batch_sizes, state, self._flat_weights, *flags)
        return result[0], tuple(result[1:])

    def __prepare_scriptable__(self):
        """torch.jit.script support: script an equivalent torch.nn layer (see docs/nn.md).

        TorchScript cannot compile torch.autograd.Function, which the "rnnkit" path uses,
        so a scripted layer runs torch's kernel with these very parameters.
        """
        if self.backend == "rnnkit":
            raise RuntimeError(
                f"torch.jit.script: {type(self).__name__} with backend='rnnkit' cannot be "
                "scripted (TorchScript cannot compile torch.autograd.Function); use "
                "backend='auto' or 'torch', or torch.compile"
            )
        return self.to_torch(share_parameters=True)

    def to_torch(self, share_parameters: bool = False) -> nn.Module:
        """The equivalent torch.nn layer, with copies of (or the same) parameters."""
        raise NotImplementedError

    def _copy_into(self, module: nn.Module, share_parameters: bool) -> nn.Module:
        reason = self.torch_kernel_unsupported()
        if reason is not None:
            raise RuntimeError(f"{type(self).__name__} with {reason} has no torch.nn equivalent")
        module = module.to(device=self.weight_ih_l0.device, dtype=self.weight_ih_l0.dtype)
        if share_parameters:
            for name in self._flat_weights_names:
                setattr(module, name, getattr(self, name))
        else:
            module.load_state_dict(self.state_dict(), strict=True)
        module.train(self.training)
        return module

