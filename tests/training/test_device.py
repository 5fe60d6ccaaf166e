"""Device choice, moving nested batches, progress-bar quietness, the loss plot, splits."""
from __future__ import annotations

import sys
from collections import namedtuple
from dataclasses import dataclass

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from rnnkit.errors import ConfigError
from rnnkit.training import move_to, resolve_device, train_val_split
from rnnkit.training.plots import plot_loss
from rnnkit.training.progress import progress_enabled


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ConfigError) as err:
        resolve_device("gpu0")
    assert str(err.value) == "--device must be auto, cpu, cuda, cuda:N or mps, got 'gpu0'"


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_cuda_asked_for_but_absent():
    with pytest.raises(ConfigError) as err:
        resolve_device("cuda")
    assert str(err.value) == "--device 'cuda' was asked for but CUDA is not available here"


Pair = namedtuple("Pair", "a b")


@dataclass
class Batch:
    x: torch.Tensor
    name: str


def test_move_to_walks_nested_batches():
    packed = pack_padded_sequence(torch.randn(2, 3, 1), torch.tensor([3, 2]), batch_first=True)
    batch = {"p": packed, "t": (torch.ones(2), [torch.zeros(1)]), "n": Pair(torch.ones(1), 7),
             "d": Batch(torch.ones(2), "k"), "s": "text"}
    moved = move_to(batch, torch.device("meta"))
    assert moved["p"].data.device.type == "meta"
    assert isinstance(moved["t"], tuple) and moved["t"][0].device.type == "meta"
    assert isinstance(moved["t"][1], list) and moved["t"][1][0].device.type == "meta"
    assert isinstance(moved["n"], Pair) and moved["n"].a.device.type == "meta" and moved["n"].b == 7
    assert isinstance(moved["d"], Batch) and moved["d"].x.device.type == "meta" and moved["d"].name == "k"
    assert moved["s"] == "text"


def test_progress_is_quiet_under_ci_or_without_a_terminal(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert progress_enabled(True) is False
    monkeypatch.setenv("CI", "")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert progress_enabled(True) is False
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress_enabled(True) is True
    assert progress_enabled(False) is False


def test_plot_loss_writes_a_png(tmp_path):
    path = plot_loss([{"epoch": 1, "train_loss": 2.0, "val_loss": 3.0},
                      {"epoch": 2, "train_loss": 1.0, "val_loss": None}], tmp_path / "loss.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_train_val_split():
    data = list(range(10))
    train, val = train_val_split(data, 0.2, shuffle=False)
    assert list(train) == list(range(8)) and list(val) == [8, 9]
    a, b = train_val_split(data, 0.3, seed=1)
    assert sorted(list(a) + list(b)) == data and len(b) == 3
    assert list(train_val_split(data, 0.3, seed=1)[1]) == list(b)
    with pytest.raises(ConfigError, match=r"^val_fraction must be between 0 and 1 \(exclusive\), got 1.5$"):
        train_val_split(data, 1.5)
