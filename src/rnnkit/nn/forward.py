"""What a forward call of RNN, LSTM and GRU does: check, choose a backend, run.

:class:`ForwardDispatch` is mixed into :class:`rnnkit.nn.base.RNNBase` (which owns the
constructor arguments and the parameter layout). It holds:

- the forward-argument checks (input dimension and size, hidden size, dtype), in
  torch.nn's order and wording (``check_input``, ``check_hidden_size``, ...);
- the forward of the one-state layers (RNN, GRU): packed, batched (T, B, I) / (B, T, I)
  and unbatched (T, I) input, hx (L·D, B, H_out) defaulting to zeros;
- the backend choice and the run through all layers and directions;
- the way back to torch.nn (``to_torch``, ``torch.jit.script``).

Backend rule (``backend="auto"``): this package's code when torch has no fused kernel
for the configuration; torch's kernel when only the plain-autograd loops could run;
otherwise the decision table of ``rnnkit.nn.backend_choice`` (mode, training or
inference, packed, projection, hidden size, device, dtype, fused loops built), filled
from benchmarks/bench_layers.py (docs/performance.md). ``SEQUENCE_IMPL`` picks, for the
"rnnkit" path, between the hand-written BPTT kernels in ``rnnkit.nn.bptt`` and the
plain-autograd loops in ``rnnkit.nn.functional``; tests switch it to run both.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnkit.errors import RnnkitError
from rnnkit.nn import backend_choice, kernels, stack
from rnnkit.nn.extensions import runner as ext_runner
from rnnkit.nn.packing import permute, unpack_input

__all__ = ["ForwardDispatch"]


class ForwardDispatch:
    """Forward checks, backend choice and the run, for a layer built by ``RNNBase``.

    Uses the layer's ``mode``, sizes, flags, ``backend``, ``extensions`` and parameters.
    """

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

