"""Slow: a short real training run on the bundled Shakespeare sample learns the text."""
from __future__ import annotations

import math

import pytest

from rnnkit.tasks.text.pipeline import load_text_config, train_text


@pytest.mark.slow
def test_two_minutes_on_the_bundled_plays_beats_a_unigram_model(tmp_path):
    cfg = load_text_config(None, ["train.time_budget=120.0", "train.threads=1",
                                  "train.progress=false", "data.chunks_per_epoch=200"])
    metrics = train_text(cfg, None, tmp_path / "run")
    assert metrics["val_chars"] > 50_000 and metrics["val_unseen_chars"] == {}
    # A model that knows only character frequencies needs 4.61 bits/char here;
    # two minutes of the default LSTM must get well below that.
    assert metrics["val_bits_per_char"] < 3.0
    assert metrics["val_bits_per_char"] == pytest.approx(metrics["val_nats_per_char"] / math.log(2))
