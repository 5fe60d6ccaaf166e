"""The trainer on CUDA: mixed precision (bf16 and fp16 with loss scaling), checkpoints, batches.

Skipped without a GPU (CI has none); run these on a CUDA machine.
"""
from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader, TensorDataset

from rnnkit.models import RecurrentModel
from rnnkit.training import TrainConfig, Trainer, load_model, move_to

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _loaders():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 6, 3, generator=g)
    y = x.sum(dim=(1, 2)).unsqueeze(1) / 6
    return DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True), DataLoader(TensorDataset(x, y), batch_size=64)


@pytest.mark.parametrize("bf16", [True, False])
def test_amp_training_on_cuda(tmp_path, monkeypatch, bf16):
    if not bf16:  # force the float16 + GradScaler path
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    model = RecurrentModel(3, 16, 1, cell="lstm", num_layers=2, dropout=0.1)
    cfg = TrainConfig(epochs=4, lr=1e-2, device="cuda", amp=True, progress=False)
    trainer = Trainer(model, cfg, run_dir=tmp_path / "run")
    result = trainer.fit(*_loaders())
    assert next(model.parameters()).device.type == "cuda"
    assert trainer.scaler.is_enabled() == (not bf16)
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]
    loaded, _ = load_model(tmp_path / "run" / "checkpoints" / "best", RecurrentModel.from_config)
    assert next(loaded.parameters()).device.type == "cpu"
    assert all(torch.isfinite(p).all() for p in loaded.parameters())


def test_move_packed_and_nested_to_cuda():
    packed = pack_padded_sequence(torch.randn(2, 3, 1), torch.tensor([3, 2]), batch_first=True)
    moved = move_to({"p": packed, "y": [torch.ones(2)]}, torch.device("cuda"))
    assert moved["p"].data.is_cuda and moved["y"][0].is_cuda
