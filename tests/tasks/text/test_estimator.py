"""LanguageModel: the character LM as one Python object (fit, evaluate, predict, generate, save/load)."""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from torch.nn import functional as F

from rnnkit.data.text import split_text
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.tasks.text import LanguageModel, UnseenCharactersWarning
from rnnkit.tasks.text import estimator
from rnnkit.tasks.text.saved import PARAMS_FILE
from rnnkit.tasks.text.pipeline import load_text_config, train_text

DOCS = [f"Speaker{i % 3}:\nLine {i}, to be or not to be." for i in range(120)]
CORPUS = "\n\n".join(DOCS)
TINY = dict(hidden_size=16, embed_dim=8, epochs=2, batch_size=4, seq_len=16, threads=1)


@pytest.fixture(scope="module")
def lm():
    return LanguageModel(**TINY).fit(CORPUS)


def test_fit_holds_out_the_end_and_learns(lm):
    train_part, val_part = split_text(CORPUS, 0.05)
    assert (lm.train_chars_, lm.val_chars_) == (len(train_part), len(val_part))
    assert lm.vocab_[0] == "\ufffd" and set(lm.vocab_[1:]) == set(train_part)
    assert list(lm.classes_) == list(lm.vocab_)
    assert lm.epochs_run_ == 2 and len(lm.history_) == 2 and lm.best_epoch_ in (1, 2)
    assert lm.val_bits_per_char_ == pytest.approx(lm.val_nats_per_char_ / math.log(2))
    assert lm.val_bits_per_char_ < math.log2(len(lm.vocab_)) - 0.5  # better than uniform


def test_a_list_of_documents_is_the_documents_joined_by_blank_lines(lm):
    again = LanguageModel(**TINY).fit(DOCS)
    assert again.val_nats_per_char_ == lm.val_nats_per_char_
    assert np.array_equal(again.predict_proba("to be"), lm.predict_proba("to be"))


def test_validation_text_given(lm):
    held = LanguageModel(**TINY).fit(CORPUS[:3000], validation=CORPUS[3000:4000])
    assert (held.train_chars_, held.val_chars_) == (3000, 1000)
    assert held.val_nats_per_char_ == pytest.approx(held.evaluate(CORPUS[3000:4000])["nats_per_char"], rel=1e-6)


@torch.no_grad()
def test_predict_proba_is_the_network_read_from_a_zero_state(lm):
    text = "Speaker1:\nLine 7, to be"
    proba = lm.predict_proba(text)
    assert proba.shape == (len(text), len(lm.vocab_)) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    ids = torch.tensor([lm.vocab_.index(c) for c in text])
    logits, _ = lm.network_(ids.view(-1, 1))
    np.testing.assert_allclose(proba, torch.softmax(logits[:, 0].double(), -1).numpy(), rtol=1e-6)
    # the likeliest next character, and evaluate's nats: the same probabilities
    assert lm.predict(text) == "".join(lm.vocab_[i] for i in proba.argmax(axis=1))
    nats = -np.mean(np.log(proba[np.arange(len(text) - 1), ids[1:].numpy()]))
    assert lm.evaluate(text)["nats_per_char"] == pytest.approx(nats, rel=1e-5)


def test_predict_proba_reads_a_long_text_in_chunks_with_the_state_carried(lm, monkeypatch):
    text = CORPUS[:300]
    whole = lm.predict_proba(text)
    monkeypatch.setattr(estimator, "CHUNK", 7)
    np.testing.assert_allclose(lm.predict_proba(text), whole, rtol=1e-5, atol=1e-7)
    assert lm.predict(text) == "".join(lm.vocab_[i] for i in whole.argmax(axis=1)) and lm.predict("") == ""
    assert lm.predict_proba("").shape == (0, len(lm.vocab_))


def test_generate_repeats_with_a_seed_and_warns_of_unseen_characters(lm):
    first = lm.generate("Speaker", length=30, temperature=0.8, seed=3)
    assert len(first) == 30 and first == lm.generate("Speaker", length=30, temperature=0.8, seed=3)
    assert "".join(lm.stream("Speaker", length=30, temperature=0.8, seed=3)) == first
    assert lm.generate("Speaker", length=5, temperature=0) == lm.predict("Speaker")[-1] + \
        lm.generate("Speaker" + lm.predict("Speaker")[-1], length=4, temperature=0)
    with pytest.warns(UnseenCharactersWarning, match=r"prime: 2 character\(s\) .* 'Z' \(U\+005A\)") as record:
        lm.generate("Zoë", length=1)
    assert record[0].filename == __file__  # the warning points at the caller's line
    for call in (lambda: lm.stream("Zoë", length=1), lambda: lm.predict("Zoë"), lambda: lm.predict_proba("Zoë")):
        with pytest.warns(UnseenCharactersWarning) as record:
            call()
        assert record[0].filename == __file__
    with pytest.warns(UnseenCharactersWarning, match="text: 1 character"):
        lm.predict_proba("Q")
    assert lm.unseen("Zoë") == {"Z": 1, "ë": 1}


@pytest.mark.parametrize("kwargs, message", [
    (dict(length=-1), r"^length: must be an integer"),
    (dict(temperature=-0.5), "^temperature: must be >= 0"),
    (dict(top_k=0), "^top_k: must be an integer >= 1"),
    (dict(top_p=1.5), r"^top_p: must be in \(0, 1\]"),
    (dict(threads=0), "^threads: must be an integer >= 1"),
    (dict(seed="a"), "^seed: must be an integer or None, saw 'a'"),
])
def test_generate_names_a_bad_argument_as_python_spells_it(lm, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        lm.generate("S", **kwargs)
    with pytest.raises(ConfigError, match=message):
        lm.stream("S", **kwargs)  # at the call, not at the first character


def test_save_load_round_trip_is_exact(lm, tmp_path):
    lm.save(tmp_path / "m")
    back = LanguageModel.load(tmp_path / "m")
    assert back.get_params() == lm.get_params() and back.vocab_ == lm.vocab_
    assert np.array_equal(back.predict_proba(CORPUS[:200]), lm.predict_proba(CORPUS[:200]))
    assert back.generate("S", length=40, seed=1) == lm.generate("S", length=40, seed=1)
    assert back.evaluate(CORPUS[:500]) == lm.evaluate(CORPUS[:500])


def test_loads_a_run_folder_of_the_cli_and_one_saved_before_estimator_json(tmp_path):
    data = tmp_path / "corpus.txt"
    data.write_text(CORPUS, encoding="utf-8")
    cfg = load_text_config(None, ["model.hidden_size=16", "model.embed_dim=8", "train.epochs=1",
                                  "train.batch_size=4", "data.seq_len=16", "train.threads=1",
                                  "train.progress=false", "model.cell=gru"])
    metrics = train_text(cfg, data, tmp_path / "run")
    lm = LanguageModel.load(tmp_path / "run")  # the run folder: its model/
    assert (lm.cell, lm.hidden_size, lm.seq_len, lm.epochs, lm.batch_size) == ("gru", 16, 16, 1, 4)
    assert lm.evaluate(data.read_text(encoding="utf-8"))["chars"] == len(CORPUS)
    assert metrics["val_nats_per_char"] == pytest.approx(
        lm.evaluate(split_text(CORPUS, 0.05)[1])["nats_per_char"], rel=1e-6)
    (tmp_path / "run" / "model" / PARAMS_FILE).unlink()  # as written before the object existed
    old = LanguageModel.load(tmp_path / "run")
    assert (old.cell, old.hidden_size, old.embed_dim, old.seq_len) == ("gru", 16, 8, 64)
    # the same weights (threads differ: torch's against 1, so the last bits may)
    np.testing.assert_allclose(old.predict_proba("to be"), lm.predict_proba("to be"), rtol=1e-6)


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "expected a table of LanguageModel arguments"),
    ('{"hidden_size": 16, "layers": 2}', "expected a table of LanguageModel arguments"),
    ('{"hidden_size": [16]}', "expected a table of LanguageModel arguments"),
    ('{"hidden_size": 32}', "network arguments differ from model.json"),
    ('{"lr": -1}', "train.lr must be > 0"),
    ("{not json", "not readable JSON"),
])
def test_a_hostile_estimator_json_is_one_line(lm, tmp_path, content, message):
    lm.save(tmp_path / "m")
    (tmp_path / "m" / PARAMS_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(CheckpointError, match=message) as err:
        LanguageModel.load(tmp_path / "m")
    assert PARAMS_FILE in str(err.value) and "\n" not in str(err.value)


def test_load_of_a_missing_folder_names_the_argument(tmp_path):
    with pytest.raises(CheckpointError, match="^path: .* does not exist"):
        LanguageModel.load(tmp_path / "nothing")


@pytest.mark.parametrize("text, message", [
    (123, "text: expected a str or a list of str, got int"),
    (["a", 3], "text: every document must be a str, got int"),
    ("   \n", "text: is empty or only whitespace"),
    ("ab\udcffcd" * 500, "text: byte 0xff at position 2 is not UTF-8 text"),
    ("short", r"shorter than one training chunk, .* e.g. batch_size=3, seq_len=1$"),  # as Python spells them
])
def test_bad_text_is_one_line(text, message):
    with pytest.raises(DataError, match=message):
        LanguageModel(**TINY).fit(text)


@pytest.mark.parametrize("params, message", [
    (dict(cell="transformer"), "^cell must be one of 'lstm'"),
    (dict(hidden_size=0), "^hidden_size: must be a positive integer, saw 0"),
    (dict(hidden_size=16.5), "^hidden_size must be int"),
    (dict(lr=-1.0), "^lr must be > 0"),
    (dict(epochs=0), "^epochs must be > 0"),
    (dict(val_fraction=1.5), r"^val_fraction must be in \(0, 1\)"),
    (dict(chunks_per_epoch=0), "^chunks_per_epoch must be >= 1 or None"),  # trained nothing, without a word
    (dict(seq_len=0), "^seq_len must be >= 1"),
    (dict(device="tpu"), "^device must be auto, cpu"),
    (dict(verbose="yes"), "^verbose must be bool"),
])
def test_bad_arguments_are_one_line_at_fit(params, message):
    lm = LanguageModel(**{**TINY, **params})  # stored as given (scikit-learn's convention)
    with pytest.raises(ConfigError, match=message):
        lm.fit(CORPUS)


def test_unfitted_and_scikit_learn_conventions(lm):
    with pytest.raises(NotFittedError):
        LanguageModel().generate("x")
    copy = clone(lm)
    assert copy.get_params() == lm.get_params() and not hasattr(copy, "network_")
    assert LanguageModel().set_params(hidden_size=8).hidden_size == 8
    with pytest.raises(DataError, match="prime: expected a str"):
        lm.generate(5)


def test_from_config_keeps_the_keys_without_an_argument():
    cfg = load_text_config(None, ["train.grad_clip=0.25", "model.hidden_size=16"])
    lm = LanguageModel.from_config(cfg)
    assert lm.hidden_size == 16 and lm.config().train.grad_clip == 0.25
    assert LanguageModel().config().train.grad_clip == 1.0  # the text defaults otherwise
    assert LanguageModel().config() == load_text_config(None, ["train.progress=false"])


def test_estimator_json_lists_the_arguments(lm, tmp_path):
    lm.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / PARAMS_FILE).read_text()) == lm.get_params()


def test_generation_runs_on_one_thread_by_default_and_restores_torch(lm, monkeypatch):
    seen, original = [], estimator.generate

    def spy(*args, **kwargs):
        for ch in original(*args, **kwargs):
            seen.append(torch.get_num_threads())
            yield ch

    monkeypatch.setattr(estimator, "generate", spy)
    before = torch.get_num_threads()
    lm.generate("S", length=3)
    assert seen == [1, 1, 1] and torch.get_num_threads() == before


def test_predict_matches_cross_entropy_of_the_network(lm):
    text = CORPUS[:120]
    ids = torch.tensor([lm.vocab_.index(c) for c in text])
    with torch.no_grad():
        logits, _ = lm.network_(ids[:-1].view(-1, 1))
        nats = float(F.cross_entropy(logits[:, 0], ids[1:]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no unseen characters here: no warning
        assert lm.evaluate(text)["nats_per_char"] == pytest.approx(nats, rel=1e-5)


def test_the_commands_read_a_folder_the_object_saved(lm, tmp_path):
    from typer.testing import CliRunner

    from rnnkit.cli.app import app

    lm.save(tmp_path / "m")
    (tmp_path / "t.txt").write_text(CORPUS[:400], encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["text", "generate", "--model", str(tmp_path / "m"), "--prime", "S",
                                 "--length", "20", "--seed", "1"])
    assert result.exit_code == 0 and result.stdout == "S" + lm.generate("S", length=20, seed=1) + "\n"
    result = runner.invoke(app, ["text", "evaluate", "--model", str(tmp_path / "m"), "--data",
                                 str(tmp_path / "t.txt"), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["nats_per_char"] == pytest.approx(lm.evaluate(CORPUS[:400])["nats_per_char"],
                                                                       rel=1e-6)


def test_numpy_numbers_are_accepted_and_saved_as_numbers(tmp_path):
    lm = LanguageModel(**{**TINY, "hidden_size": np.int64(16), "lr": np.float32(0.004), "epochs": np.int32(1)})
    lm.fit(CORPUS)
    assert lm.network_.model_config["hidden_size"] == 16
    lm.save(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / PARAMS_FILE).read_text())
    assert saved["hidden_size"] == 16 and saved["epochs"] == 1 and isinstance(saved["lr"], float)


def test_score_is_the_mean_log_likelihood_per_character(lm):
    """scikit-learn's density models score higher-is-better log-likelihoods; LanguageModel had no score."""
    from sklearn.model_selection import GridSearchCV

    text = CORPUS[-400:]
    assert lm.score(text) == pytest.approx(-lm.evaluate(text)["nats_per_char"]) and lm.score(text) < 0
    weak = LanguageModel(**{**TINY, "epochs": 1, "hidden_size": 4}).fit(CORPUS)
    assert lm.score(text) > weak.score(text) + 0.1  # the better model scores higher
    docs = np.array(DOCS, dtype=object)  # cross-validation splits the documents
    search = GridSearchCV(LanguageModel(**{**TINY, "epochs": 1}), {"hidden_size": [4, 16]}, cv=2).fit(docs)
    assert set(search.cv_results_["mean_test_score"] < 0) == {True}
