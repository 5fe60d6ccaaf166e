"""Packed data <-> time-major padded tensors, for the "rnnkit" path.

A PackedSequence stores its rows time step by time step: the ``batch_sizes[0]`` rows of
t = 0, then the ``batch_sizes[1]`` rows of t = 1, and so on (sequences sorted longest
first). That is exactly the row-major order of the True entries of the (T, B) mask
``b < batch_sizes[t]``, so one masked scatter or gather converts either way.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

__all__ = ["step_mask", "packed_to_padded", "padded_to_packed", "unpack_input", "permute"]


def step_mask(batch_sizes: Tensor, device: torch.device) -> Tensor:
    """(T, B) bool, True where row b is part of step t."""
    batch_sizes = batch_sizes.to(device)
    rows = torch.arange(int(batch_sizes[0]), device=device)  # (B,)
    return rows.unsqueeze(0) < batch_sizes.unsqueeze(1)  # (T, B)


def packed_to_padded(data: Tensor, batch_sizes: Tensor) -> Tensor:
    """(N, F) packed rows -> (T, B, F), zeros where a sequence has ended."""
    mask = step_mask(batch_sizes, data.device)  # (T, B)
    padded = data.new_zeros(*mask.shape, data.size(-1))  # (T, B, F)
    return padded.masked_scatter(mask.unsqueeze(-1), data)


def padded_to_packed(padded: Tensor, batch_sizes: Tensor) -> Tensor:
    """(T, B, F) -> (N, F), the rows of each step in PackedSequence order."""
    return padded[step_mask(batch_sizes, padded.device)]  # (N, F)


def unpack_input(input):
    """(data, batch_sizes, sorted_indices, unsorted_indices) of a PackedSequence, or
    (input, None, None, None) of a tensor."""
    if isinstance(input, PackedSequence):
        return input.data, input.batch_sizes, input.sorted_indices, input.unsorted_indices
    return input, None, None, None


def permute(hx: tuple, permutation: Tensor | None) -> tuple:
    """Reorder the batch dimension (dim 1) of every state tensor."""
    if permutation is None:
        return hx
    return tuple(h.index_select(1, permutation) for h in hx)
