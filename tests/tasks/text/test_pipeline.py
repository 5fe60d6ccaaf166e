"""train_text / evaluate_text / generate_text and exact bits-per-character scoring."""
from __future__ import annotations

import json
import math

import pytest
import torch
from torch.nn import functional as F

from rnnkit.data.text import Vocab, read_corpus
from rnnkit.errors import CheckpointError, DataError
from rnnkit.models.charlm import CharLM
from rnnkit.tasks.text.pipeline import (
    bundled_corpus,
    evaluate_text,
    generate_text,
    load_charlm,
    load_text_config,
    score_ids,
    train_text,
)

CORPUS = "".join(f"Speaker{i % 3}:\nLine {i}, to be or not to be.\n\n" for i in range(120))


def tiny_config(**extra):
    overrides = ["model.hidden_size=16", "model.embed_dim=8", "train.epochs=2",
                 "train.batch_size=4", "data.seq_len=16", "train.threads=1",
                 "train.progress=false"]
    return load_text_config(None, overrides + [f"{k}={v}" for k, v in extra.items()])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("text")
    data = root / "corpus.txt"
    data.write_text(CORPUS, encoding="utf-8")
    run = root / "run"
    metrics = train_text(tiny_config(), data, run)
    return data, run, metrics


def test_train_writes_run_folder_and_metrics(trained):
    _, run, metrics = trained
    for name in ("metrics.json", "loss.png", "metrics.csv", "config.json",
                 "model/model.safetensors", "model/model.json"):
        assert (run / name).is_file(), name
    on_disk = json.loads((run / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    for key in ("val_bits_per_char", "val_nats_per_char", "train_chars", "val_chars"):
        assert key in on_disk
    assert on_disk["train_chars"] + on_disk["val_chars"] == len(CORPUS)
    assert on_disk["val_bits_per_char"] == pytest.approx(on_disk["val_nats_per_char"] / math.log(2))
    assert on_disk["val_perplexity"] == pytest.approx(math.exp(on_disk["val_nats_per_char"]))
    assert on_disk["epochs_run"] == 2


def test_the_model_learns_something(trained):
    _, _, metrics = trained
    uniform_bits = math.log2(metrics["vocab_size"])
    assert metrics["val_bits_per_char"] < uniform_bits - 0.5


def test_evaluate_reloads_the_model_and_scores_the_file(trained):
    data, run, _ = trained
    report = evaluate_text(run, data)
    assert report["chars"] == len(CORPUS) and report["unseen_chars"] == {}
    assert report["bits_per_char"] == pytest.approx(report["nats_per_char"] / math.log(2))
    assert report["chars_scored"] > 0.99 * len(CORPUS)


def test_evaluate_reports_unseen_characters(trained, tmp_path):
    _, run, _ = trained
    other = tmp_path / "other.txt"
    other.write_text("Speaker1:\nNaïve café, to be.\n", encoding="utf-8")
    report = evaluate_text(run, other)
    assert report["unseen_chars"] == {"N": 1, "c": 1, "f": 1, "v": 1, "é": 1, "ï": 1}
    assert math.isfinite(report["bits_per_char"])


def _manual_nats(model, segments):
    """Summed cross-entropy of each segment read on its own from a zero state."""
    total = 0.0
    for seg in segments:
        logits, _ = model(seg[:-1].view(-1, 1))
        total += float(F.cross_entropy(logits.view(-1, logits.shape[-1]), seg[1:], reduction="sum"))
    return total


@torch.no_grad()
def test_score_ids_is_the_exact_per_character_cross_entropy():
    torch.manual_seed(0)
    model = CharLM(9, 4, 6, 1).eval()
    ids = torch.randint(0, 9, (50,))
    nats, count = score_ids(model, ids, batch_size=32, seq_len=64)  # short: one stream
    assert count == 49 and nats == pytest.approx(_manual_nats(model, [ids]) / 49, rel=1e-5)
    # Three streams of 16 predictions; the one left over continues the last stream.
    nats, count = score_ids(model, ids, batch_size=32, seq_len=16)
    expected = _manual_nats(model, [ids[0:17], ids[16:33], ids[32:50]]) / 49
    assert count == 49 and nats == pytest.approx(expected, rel=1e-5)
    with pytest.raises(DataError, match="scoring needs at least 2"):
        score_ids(model, ids[:1])


def test_generate_streams_and_repeats_with_a_seed(trained):
    _, run, _ = trained
    chars, unseen = generate_text(run, prime="Speaker", length=30, temperature=0.8, seed=3)
    first = "".join(chars)
    again, _ = generate_text(run, prime="Speaker", length=30, temperature=0.8, seed=3)
    assert len(first) == 30 and first == "".join(again) and not unseen
    _, unseen = generate_text(run, prime="Zoë", length=1)
    assert dict(unseen) == {"Z": 1, "ë": 1}


def test_load_charlm_errors(tmp_path, trained):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_charlm(tmp_path / "missing")
    _, run, _ = trained
    model, vocab = load_charlm(run / "model")  # a model folder works too
    assert isinstance(vocab, Vocab) and len(vocab) == model.model_config["vocab_size"]


def test_corpus_shorter_than_one_chunk(tmp_path):
    data = tmp_path / "short.txt"
    data.write_text("Hi there.\n" * 5, encoding="utf-8")
    with pytest.raises(DataError, match="shorter than one training chunk"):
        train_text(tiny_config(), data, tmp_path / "run")


def test_bundled_corpus_is_about_a_megabyte_of_plays():
    text = read_corpus(bundled_corpus())
    assert 1_000_000 < len(text) < 1_100_000
    assert text.startswith("Theseus:\n") and text.endswith("all our own be won.\n")
    assert (bundled_corpus().parent / "PROVENANCE.md").is_file()


def test_resume_continues_a_run(tmp_path):
    data = tmp_path / "corpus.txt"
    data.write_text(CORPUS, encoding="utf-8")
    run = tmp_path / "run"
    first = train_text(tiny_config(**{"train.epochs": 1}), data, run)
    assert first["epochs_run"] == 1
    again = train_text(tiny_config(**{"train.epochs": 2}), data, run, resume=True)
    assert again["epochs_run"] == 2
    rows = (run / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 2  # header + one row per epoch, the first kept from before


@pytest.mark.parametrize("override, message", [
    ("data.chunks_per_epoch=0", "data.chunks_per_epoch must be >= 1 or None, got 0"),  # epochs that trained nothing
    ("data.seq_len=0", "data.seq_len must be >= 1, got 0"),
    ("data.val_fraction=1.5", r"data.val_fraction must be in \(0, 1\), got 1.5"),
])
def test_data_settings_out_of_range_are_refused_before_training(override, message):
    from rnnkit.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        tiny_config(**dict([override.split("=")]))
