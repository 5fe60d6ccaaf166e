"""``stateful=True``: each call starts from the previous call's final state.

For truncated backpropagation through time over a long stream cut into chunks::

    h_0(call k+1) = detach(h_n(call k))          (and c for the LSTM)

The carried state is detached, so gradients stop at the chunk boundary. An explicit
``hx`` argument wins over the carried state. ``reset_state()`` forgets it (for a new
stream or epoch). A call whose batch size differs from the carried state's raises
:class:`rnnkit.errors.RnnkitError` instead of silently broadcasting or mixing streams.
The carried state is not part of ``state_dict``.
"""
from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence

from rnnkit.errors import RnnkitError

__all__ = ["attach_stateful", "reset_state"]


def _batch_of_input(module: nn.Module, input) -> int | None:
    """Batch size of a layer's input; None for unbatched (T, I) input."""
    if isinstance(input, PackedSequence):
        return int(input.batch_sizes[0])
    if not isinstance(input, Tensor) or input.dim() != 3:
        return None
    return input.size(0) if module.batch_first else input.size(1)


def _batch_of_state(state: tuple) -> int | None:
    return state[0].size(1) if state[0].dim() == 3 else None


def _before(module: nn.Module, args: tuple, kwargs: dict):
    carried = module._carried_state
    if carried is None:
        return None
    given = args[1] if len(args) > 1 else kwargs.get("hx")
    if given is not None:
        return None
    input = args[0] if args else kwargs.get("input")
    new, old = _batch_of_input(module, input), _batch_of_state(carried)
    if new != old:
        raise RnnkitError(
            f"{type(module).__name__}(stateful=True): the batch size changed from {old} to "
            f"{new} between calls; call reset_state() before feeding a different batch"
        )
    hx = carried if module.mode == "LSTM" else carried[0]
    return (args[0] if args else kwargs.pop("input"), hx), kwargs


def _after(module: nn.Module, args: tuple, kwargs: dict, output):
    hidden = output[1]
    states = tuple(hidden) if isinstance(hidden, tuple) else (hidden,)
    module._carried_state = tuple(s.detach() for s in states)


def attach_stateful(module: nn.Module) -> None:
    """Make a sequence layer carry its final state to the next call."""
    module._carried_state = None
    module.register_forward_pre_hook(_before, with_kwargs=True)
    module.register_forward_hook(_after, with_kwargs=True)


def reset_state(module: nn.Module) -> None:
    module._carried_state = None
