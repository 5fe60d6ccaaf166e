"""One group per training batch (`group_batches`, `data.group_batches`): every batch is one
group, every series once an epoch, the order repeats for a resumed epoch; what cannot work is a
one-line error; a run trained so is evaluated adapted to each test group."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.data.classify_inputs import load_labelled
from rnnkit.data.sequences import SequenceDataset
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.classify import Classifier, adapted
from rnnkit.tasks.classify.batches import GroupBatches, train_loader
from rnnkit.tasks.classify.config import ClassifyConfig, default_config
from rnnkit.tasks.classify.pipeline import probabilities, train_classifier
from rnnkit.training.config import apply_overrides, from_dict

from tests.tasks.classify.test_lstm_fcn_estimator import TINY, bumps

DIGITS = Path(__file__).resolve().parents[3] / "src" / "rnnkit" / "datasets" / "speech" / "spoken_digits_synth"
GROUPS = ["a", "b", "a", "c", "b", "a", "c", "c", "d"]


def test_each_batch_is_one_group_and_each_series_comes_once_an_epoch():
    sampler = GroupBatches(GROUPS, seed=0)
    assert len(sampler) == 4
    orders = []
    for epoch in range(6):
        sampler.on_epoch_start(None, epoch)
        batches = list(sampler)
        assert sorted(i for b in batches for i in b) == list(range(len(GROUPS)))
        assert all(len({GROUPS[i] for i in b}) == 1 for b in batches)
        assert sorted(len(b) for b in batches) == [1, 2, 3, 3]
        orders.append(tuple(GROUPS[b[0]] for b in batches))
    assert len(set(orders)) > 1  # a new order of the groups from epoch to epoch
    sampler.on_epoch_start(None, 3)  # a resumed run's epoch 3
    assert tuple(GROUPS[b[0]] for b in sampler) == orders[3]


def test_the_loader_collates_one_group_a_batch():
    X, y = bumps(len(GROUPS))
    loader, callback = train_loader(SequenceDataset(X, y.tolist()), 32, 0, np.asarray(GROUPS, dtype=object))
    assert isinstance(callback, GroupBatches)
    assert sorted(int(batch["y"].shape[0]) for batch in loader) == [1, 2, 3, 3]
    plain, none = train_loader(SequenceDataset(X, y.tolist()), 4, 0)
    assert none is None and [int(b["y"].shape[0]) for b in plain] == [4, 4, 1]


def test_fit_with_groups_saves_and_loads_the_setting(tmp_path):
    X, y = bumps(40)
    groups = [f"g{i // 8}" for i in range(40)]  # five groups of 8, both classes in each
    clf = Classifier(**TINY, group_batches=True).fit(X, y, groups=groups)
    assert clf.n_steps_ == 30 and clf.score(*bumps(30, seed=1)) >= 0.7
    mine = adapted(clf, bumps(20, seed=2)[0])
    assert mine.predict_proba(bumps(20, seed=2)[0]).shape == (20, 2)
    clf.save(tmp_path / "m")
    assert Classifier.load(tmp_path / "m").group_batches is True


@pytest.mark.parametrize("change, groups, error, message", [
    ({}, None, DataError, r"^group_batches=True needs fit\(X, y, groups=\.\.\.\): the group of every series"),
    ({}, ["a"] * 39, DataError, r"^groups must hold one group per series: got shape \(39,\) for 40 series$"),
    ({"partner": "trees"}, ["a"] * 40, ConfigError, r"^group_batches=True needs partner=None \(got 'trees'\)"),
    ({"model": "rnn"}, ["a"] * 40, ConfigError, r"^group_batches=True needs model='lstm_fcn' \(got 'rnn'\)"),
    ({"group_batches": "yes"}, ["a"] * 40, ConfigError, r"^group_batches must be True or False, got 'yes'$"),
])
def test_what_cannot_work_is_one_line(change, groups, error, message):
    X, y = bumps(40)
    with pytest.raises(error, match=message):
        Classifier(**{**TINY, "group_batches": True, **change}).fit(X, y, groups=groups)


def test_not_under_torchrun(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    X, y = bumps(40)
    with pytest.raises(ConfigError, match=r"^group_batches=True trains in one process; it does not run "
                                          r"under torchrun$"):
        Classifier(**TINY, group_batches=True).fit(X, y, groups=["a"] * 40)


def _cfg(*extra):
    return from_dict(ClassifyConfig, apply_overrides(default_config(), [
        "train.epochs=2", "train.progress=false", "model.hidden_size=8", "model.num_layers=1",
        "data.crop=1.0", *extra]))


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    root = tmp_path_factory.mktemp("groupbatches")
    for part, speakers in (("train", ("espeak-en-us-f2", "festival-kal-v2", "flite-awb-v2")),
                           ("test", ("festival-ked-v1", "espeak-de-m2"))):
        (root / part).mkdir()
        for digit in (1, 4, 7):
            for spk in speakers:
                shutil.copy(DIGITS / f"{digit}_{spk}.wav", root / part)
    return root


@pytest.fixture(scope="module")
def grouped_run(digits):
    patterns = ["data.label_pattern='^(\\d)_'", "data.group_pattern='^\\d_(.+)\\.wav$'"]
    cfg = _cfg(*patterns, "data.group_batches=true")
    return cfg, train_classifier(digits / "train", digits / "run", digits / "test", cfg, log=lambda _: None)


def test_a_run_trained_on_group_batches_is_evaluated_adapted_to_each_test_group(digits, grouped_run):
    cfg, summary = grouped_run
    assert json.loads((digits / "run" / "model" / "model.json").read_text())["estimator"]["group_batches"] is True
    clf = Classifier.load(digits / "run" / "model")
    test = load_labelled(digits / "test", cfg.audio, cfg.data.label_pattern, cfg.data.group_pattern)
    labels = [str(c) for c in clf.classes_]
    expected = np.zeros((len(test.names), len(labels)))
    for speaker in set(test.groups):  # each voice's three files adapted to alone
        idx = [i for i, g in enumerate(test.groups) if g == speaker]
        expected[idx] = probabilities(adapted(clf, test.subset(idx).features), test.subset(idx))
    accuracy = float(np.mean([labels[k] == t for k, t in zip(expected.argmax(axis=1), test.labels)]))
    assert summary["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    plain = probabilities(clf, test)
    assert not np.allclose(plain, expected)  # the adapted figure is not the plain one


def test_group_batches_need_a_group_pattern_and_groups_of_two(digits, tmp_path):
    with pytest.raises(ConfigError, match=r"^data.group_batches needs data.group_pattern \(--group-pattern\)"):
        train_classifier(digits / "train", tmp_path / "r1", digits / "test",
                         _cfg("data.label_pattern='^(\\d)_'", "data.group_batches=true"), log=lambda _: None)
    lonely = tmp_path / "lonely"
    shutil.copytree(digits / "test", lonely)
    for f in lonely.glob("[47]_espeak-de-m2.wav"):
        f.unlink()
    cfg = _cfg("data.label_pattern='^(\\d)_'", "data.group_pattern='^\\d_(.+)\\.wav$'", "data.group_batches=true")
    with pytest.raises(DataError, match=r"1_espeak-de-m2.wav: the only file of group 'espeak-de-m2'; a model "
                                        r"trained with data.group_batches is evaluated adapted to each group"):
        train_classifier(digits / "train", tmp_path / "r2", lonely, cfg, log=lambda _: None)


def test_predicting_such_a_model_without_adapt_says_so_in_one_line(digits, grouped_run):
    args = ["classify", "predict", "--model", str(digits / "run")]
    files = [str(f) for f in sorted((digits / "test").glob("*.wav"))]
    for inputs in ([str(digits / "test")], files):
        plain = CliRunner().invoke(app, args + inputs)
        assert plain.exit_code == 0, plain.output
        assert plain.stderr.splitlines() == [
            f"warning: {digits / 'run'}: trained with data.group_batches, so it predicts best with --adapt "
            f"(the files of one voice or group at a time); predicting without it"]
        assert len(plain.stdout.splitlines()) == 6
        adapted_run = CliRunner().invoke(app, args + ["--adapt"] + inputs)
        assert adapted_run.exit_code == 0 and adapted_run.stderr == ""
