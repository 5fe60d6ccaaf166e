"""Tiny task models and model folders for the export tests (shared with tests/cli, tests/faults)."""
from __future__ import annotations

from pathlib import Path

import torch

from rnnkit.models.charlm import CharLM
from rnnkit.models.classifier import SequenceClassifier
from rnnkit.models.recurrent import RecurrentModel
from rnnkit.training.checkpoint import save_model


def classifier(cell: str, pooling: str = "last", bidirectional: bool = True) -> SequenceClassifier:
    torch.manual_seed(1)
    return SequenceClassifier(3, 4, hidden_size=6, num_layers=2, cell=cell, pooling=pooling,
                              bidirectional=bidirectional, input_mean=[1.0, -2.0, 0.5],
                              input_std=[2.0, 0.5, 1.0])


def charlm(cell: str, backend: str = "rnnkit") -> CharLM:
    torch.manual_seed(2)
    return CharLM(11, embed_dim=5, hidden_size=6, num_layers=2, cell=cell, backend=backend)


def recurrent(cell: str, head: str = "sequence") -> RecurrentModel:
    torch.manual_seed(3)
    return RecurrentModel(3, 6, 2, cell=cell, head=head, output_activation="tanh")


def build(kind: str, cell: str):
    return {"classify": classifier, "text": charlm, "recurrent": recurrent}[kind](cell)


def classifier_dir(path: Path, cell: str = "lstm") -> Path:
    """A model folder laid out as ``rnnkit classify train`` writes it (run/model/)."""
    model = classifier(cell)
    info = {"task": "classify", "model": dict(input_size=3, num_classes=4, hidden_size=6, num_layers=2,
                                              cell=cell, bidirectional=True, pooling="last",
                                              input_mean=[1.0, -2.0, 0.5], input_std=[2.0, 0.5, 1.0]),
            "labels": ["a", "b", "c", "d"]}
    save_model(path / "model", model, info)
    return path


def charlm_dir(path: Path, cell: str = "gru") -> Path:
    model = charlm(cell)
    save_model(path, model, {**model.model_config, "vocab": [chr(0xFFFD)] + [chr(97 + i) for i in range(10)]})
    return path
