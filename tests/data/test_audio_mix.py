"""Waveform mixup (audio.aug_mixup): mixed length and powers, soft targets, and a training run
whose batches carry them."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.data.audio import AudioConfig
from rnnkit.data.audio_mix import mix_signals, mixup_item
from rnnkit.data.sequences import SequenceDataset, collate_packed
from rnnkit.errors import DataError

DIGITS = Path(__file__).resolve().parents[2] / "src" / "rnnkit" / "datasets" / "speech" / "spoken_digits_synth"


def test_mix_is_the_longer_length_with_the_partner_at_equal_power():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(3000).astype(np.float32)
    y = 0.01 * rng.standard_normal(5000).astype(np.float32)  # much quieter, longer
    out = mix_signals(x, y, 0.7)
    assert out.shape == (5000,) and out.dtype == np.float32
    partner = (out - 0.7 * np.pad(x, (0, 2000))) / 0.3       # what was added to x, whole length
    assert np.allclose(partner, y * np.sqrt(np.mean(x.astype(np.float64) ** 2) / np.mean(y.astype(np.float64) ** 2)),
                       atol=1e-4)
    assert np.isclose(np.mean(partner.astype(np.float64) ** 2), np.mean(x.astype(np.float64) ** 2), rtol=1e-3)
    assert np.allclose(mix_signals(x, y, 1.0)[:3000], x, atol=1e-6) and not mix_signals(x, y, 1.0)[3000:].any()


def test_mixup_item_soft_target_follows_lambda():
    targets = np.array([0, 1, 2, 3])  # one item per class: the target names the partner
    signals = [np.full(100 + 10 * k, 1.0, dtype=np.float32) for k in range(4)]  # each of power 1
    seen = 0
    for seed in range(40):
        x, t = mixup_item(0, np.random.default_rng(seed), lambda k, r: signals[k], targets, 4, alpha=0.4, prob=0.5)
        assert t.shape == (4,) and t.dtype == np.float32 and np.isclose(t.sum(), 1.0)
        if t[0] < 1.0:  # mixed with j: x = lam * 1 + (1 - lam) * 1 where both are, (1 - lam) past item 0's end
            seen += 1
            j = int(np.argmax(t[1:])) + 1
            assert x.size == len(signals[j]) and np.allclose(x[:100], 1.0, atol=1e-5)
            assert np.allclose(x[100:], t[j], atol=1e-5)
        else:
            assert x.size == 100
    assert 5 < seen < 35  # about half the items, as aug_prob asks


def test_mixup_off_draws_nothing_and_gives_a_one_hot():
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    x, t = mixup_item(2, rng, lambda k, r: np.ones(50, dtype=np.float32), np.array([0, 1, 2]), 3, alpha=0.0, prob=1.0)
    assert rng.bit_generator.state == state and t.tolist() == [0.0, 0.0, 1.0] and x.size == 50


def test_soft_targets_collate_to_class_probabilities():
    feats = [np.zeros((5, 2), np.float32), np.zeros((3, 2), np.float32)]
    soft = [np.array([0.3, 0.7], np.float32), np.array([1.0, 0.0], np.float32)]
    ds = SequenceDataset(feats, [1, 0], transform=lambda i: (feats[i], soft[i]))
    batch = collate_packed([ds[0], ds[1]])
    assert batch["y"].dtype == torch.float32 and batch["y"].shape == (2, 2)
    assert torch.allclose(batch["y"], torch.tensor([[0.3, 0.7], [1.0, 0.0]]))
    hard = collate_packed([(feats[0], 1), (feats[1], 0)])
    assert hard["y"].dtype == torch.long  # without mixup: as before


@pytest.mark.parametrize("value", [-0.1, float("nan"), 11.0])
def test_bad_alpha_is_a_one_line_error(value):
    with pytest.raises(DataError, match="aug_mixup"):
        AudioConfig(aug_mixup=value)


def test_training_with_mixup_runs_and_differs(tmp_path):
    """Two words, two tiny runs (seed 0): mixup on trains to a finite loss and other weights."""
    from rnnkit.tasks.classify.config import ClassifyConfig, default_config
    from rnnkit.tasks.classify.estimator import Classifier
    from rnnkit.tasks.classify.pipeline import train_classifier
    from rnnkit.training.config import apply_overrides, from_dict

    (tmp_path / "train").mkdir()
    for digit in (1, 7):
        for spk in ("espeak-en-us-f2", "festival-kal-v2", "flite-awb-v2", "flite-rms-v1"):
            shutil.copy(DIGITS / f"{digit}_{spk}.wav", tmp_path / "train")
    weights = {}
    for alpha in (0.0, 0.4):
        cfg = from_dict(ClassifyConfig, apply_overrides(default_config(), [
            "data.label_pattern='^(\\d)_'", "data.augment=true", "train.epochs=2", "train.progress=false",
            "model.hidden_size=8", "model.num_layers=1", "audio.aug_prob=1.0", f"audio.aug_mixup={alpha}"]))
        summary = train_classifier(tmp_path / "train", tmp_path / f"run{alpha}", tmp_path / "train", cfg,
                                   log=lambda _: None)
        assert 0.0 <= summary["accuracy"] <= 1.0
        weights[alpha] = Classifier.load(tmp_path / f"run{alpha}" / "model").network_.state_dict()
    assert any(not torch.equal(weights[0.0][k], weights[0.4][k]) for k in weights[0.0])
