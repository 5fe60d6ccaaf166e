"""Device choice (auto: CUDA, then MPS, then CPU) and moving nested batches to it."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Optional

import torch
from torch.nn.utils.rnn import PackedSequence

from rnnkit.errors import ConfigError

__all__ = ["resolve_device", "move_to", "torch_threads"]


@contextmanager
def torch_threads(n: Optional[int]) -> Iterator[None]:
    """torch's CPU (intra-op) threads set to ``n`` inside the block, restored after it.

    ``None`` leaves them as they are. Small recurrent models often run fastest on one
    thread (and far faster than on many on a busy CPU); ``train.threads`` is the key.
    """
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then MPS, then CPU; an explicit device must exist.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(
            f"--device must be auto, cpu, cuda, cuda:N or mps, got {name!r}"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name!r} was asked for but CUDA is not available here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(
                f"--device {name!r}: only {torch.cuda.device_count()} CUDA device(s) are visible"
            )
    elif device.type == "mps" and not _mps_available():
        raise ConfigError(f"--device {name!r} was asked for but MPS is not available here")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {name!r}")
    return device


def move_to(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """Move every tensor in a nested batch to ``device``; other leaves are returned as-is.

    Handles tensors, PackedSequence, dicts (and other mappings), lists, tuples,
    named tuples and dataclass instances.
    """
    if isinstance(batch, (torch.Tensor, PackedSequence)):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        moved = {k: move_to(v, device, non_blocking) for k, v in batch.items()}
        try:
            return type(batch)(moved)  # keeps OrderedDict, defaultdict-free subclasses
        except TypeError:
            return moved
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # named tuple
        return type(batch)(*(move_to(v, device, non_blocking) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(v, device, non_blocking) for v in batch)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        changes = {
            f.name: move_to(getattr(batch, f.name), device, non_blocking)
            for f in dataclasses.fields(batch)
            if f.init
        }
        return dataclasses.replace(batch, **changes)
    return batch

