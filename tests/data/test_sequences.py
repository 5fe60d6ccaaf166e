"""Variable-length datasets and packed / padded collation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pad_packed_sequence

from rnnkit.data.sequences import SequenceDataset, collate_packed, collate_padded
from rnnkit.errors import DataError


def _items(rng, lengths=(3, 5, 1)):
    return [(rng.normal(size=(t, 2)), k) for k, t in enumerate(lengths)]


def test_packed_batch_keeps_order_and_values(rng):
    items = _items(rng)
    batch = collate_packed(items)
    assert batch["y"].tolist() == [0, 1, 2]
    padded, lengths = pad_packed_sequence(batch["x"], batch_first=True)  # (B, T_max, F)
    assert lengths.tolist() == [3, 5, 1]
    for b, (feats, _) in enumerate(items):
        np.testing.assert_array_equal(padded[b, : len(feats)].numpy(), feats)
        assert torch.all(padded[b, len(feats):] == 0)
    assert batch["x"].data.dtype == torch.float64  # dtype of the features is kept


def test_padded_batch(rng):
    items = _items(rng)
    batch = collate_padded(items)
    assert batch["x"].shape == (3, 5, 2)
    assert batch["lengths"].tolist() == [3, 5, 1]
    np.testing.assert_array_equal(batch["x"][1].numpy(), items[1][0])
    assert torch.all(batch["x"][2, 1:] == 0)


def test_dataset_with_loader_and_transform(rng):
    feats = [rng.normal(size=(t, 2)).astype(np.float32) for t in (2, 4, 3)]
    ds = SequenceDataset(feats, [1, 0, 1], names=["a", "b", "c"])
    assert ds.n_features == 2 and ds.lengths() == [2, 4, 3]
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=collate_packed)
    batches = list(loader)
    assert [b["y"].tolist() for b in batches] == [[1, 0], [1]]
    doubled = SequenceDataset(feats, [1, 0, 1], transform=lambda i: feats[i] * 2)
    np.testing.assert_array_equal(doubled[1][0], feats[1] * 2)


def test_dataset_errors(rng):
    with pytest.raises(DataError, match=r"^a sequence dataset needs at least one sequence, got none$"):
        SequenceDataset([], [])
    with pytest.raises(DataError, match=r"^features, targets and names differ in length: 2, 1, 2$"):
        SequenceDataset([np.zeros((2, 3))] * 2, [0])
    with pytest.raises(DataError, match=r"^every sequence must be 2-D \(T, F\) with one F; feature sizes seen: \['3', '4'\]$"):
        SequenceDataset([np.zeros((2, 3)), np.zeros((2, 4))], [0, 1])
    with pytest.raises(DataError, match=r"^b: sequence has zero time steps$"):
        SequenceDataset([np.zeros((2, 3)), np.zeros((0, 3))], [0, 1], names=["a", "b"])
