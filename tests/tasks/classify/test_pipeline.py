"""train / evaluate / predict on a tiny .ts problem, split reports and input errors."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.data.ts_format import read_ts, write_ts
from rnnkit.errors import CheckpointError, DataError
from rnnkit.tasks.classify.pipeline import (
    ClassifyConfig,
    ClassifyDataConfig,
    ClassifyModelConfig,
    evaluate_classifier,
    load_classifier,
    predict_classifier,
    train_classifier,
)
from rnnkit.training.config import TrainConfig, apply_overrides, from_dict


def _ramps(rng, n, flip=False):
    """Class 'up' rises, 'down' falls: (T, 2) with noise, T in 3..8."""
    series, labels = [], []
    for i in range(n):
        t = int(rng.integers(3, 9))
        up = (i % 3 != 0) if not flip else (i % 3 == 0)  # 2:1 imbalance
        ramp = np.linspace(-1, 1, t) * (1 if up else -1)
        series.append(np.stack([ramp, -0.5 * ramp], axis=1) + 0.1 * rng.normal(size=(t, 2)))
        labels.append("up" if up else "down")
    return series, labels


def _config(**data):
    return ClassifyConfig(
        train=TrainConfig(epochs=12, batch_size=8, lr=2e-2, progress=False, scheduler="none"),
        model=ClassifyModelConfig(hidden_size=8, num_layers=1, dropout=0.0),
        data=ClassifyDataConfig(**{"val_fraction": 0.0, **data}),
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("classify")
    rng = np.random.default_rng(0)
    write_ts(tmp / "train.ts", *_ramps(rng, 36), class_labels=["down", "up"])
    write_ts(tmp / "test.ts", *_ramps(rng, 15), class_labels=["down", "up"])
    summary = train_classifier(tmp / "train.ts", tmp / "run", tmp / "test.ts",
                               _config(class_weights="balanced"), log=lambda _: None)
    return tmp, summary


def test_train_writes_model_metrics_and_plot(run):
    tmp, summary = run
    out = tmp / "run"
    for name in ("metrics.json", "confusion.png", "summary.json", "config.json", "metrics.csv",
                 "model/model.safetensors", "model/model.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["per_class"]) == {"down", "up"}
    assert set(metrics["per_class"]["up"]) == {"precision", "recall", "f1", "support"}
    assert metrics["n_test"] == 15 and metrics["accuracy"] >= 0.9  # a clearly separable task
    assert summary["accuracy"] == metrics["accuracy"]
    assert summary["split"]["test_source"] == "file"
    assert summary["split"]["train"]["n"] == 36


def test_balanced_class_weights_recorded(run):
    tmp, _ = run
    info = json.loads((tmp / "run" / "model" / "model.json").read_text())
    labels = read_ts(tmp / "train.ts").labels
    counts = [labels.count("down"), labels.count("up")]
    assert info["labels"] == ["down", "up"]
    assert info["model"]["class_weights"] == pytest.approx([36 / (2 * c) for c in counts])


def test_predict_agrees_with_metrics_and_evaluate(run):
    tmp, _ = run
    rows = predict_classifier(tmp / "run", [tmp / "test.ts"])
    truth = read_ts(tmp / "test.ts")
    assert [r[0] for r in rows] == [f"{tmp / 'test.ts'}:{line}" for line in truth.lines]
    assert all(label in ("down", "up") and 0.5 <= prob <= 1.0 for _, label, prob in rows)
    accuracy = np.mean([r[1] == y for r, y in zip(rows, truth.labels)])
    metrics = json.loads((tmp / "run" / "metrics.json").read_text())
    assert accuracy == pytest.approx(metrics["accuracy"])
    evaluated = evaluate_classifier(tmp / "run", tmp / "test.ts")
    assert evaluated == metrics
    model, _ = load_classifier(tmp / "run" / "model")  # the model folder itself works too
    assert not model.training and isinstance(model, torch.nn.Module)


def test_unknown_label_at_test_time(run, tmp_path):
    tmp, _ = run
    series, labels = _ramps(np.random.default_rng(5), 3)
    write_ts(tmp_path / "odd.ts", series, ["up", "sideways", "down"])
    line = read_ts(tmp_path / "odd.ts").lines[1]
    with pytest.raises(DataError) as err:
        evaluate_classifier(tmp / "run", tmp_path / "odd.ts")
    assert str(err.value) == f"{tmp_path / 'odd.ts'}:{line}: label 'sideways' is not one of the 2 training labels (down, up)"


def test_inputs_that_do_not_fit_the_model(run, tmp_path):
    tmp, _ = run
    write_ts(tmp_path / "wide.ts", [np.zeros((4, 3))], ["up"])
    with pytest.raises(DataError) as err:
        evaluate_classifier(tmp / "run", tmp_path / "wide.ts")
    assert str(err.value) == f"{tmp_path / 'wide.ts'} has 3 features per step but the model expects 2"
    (tmp_path / "a.wav").write_bytes(b"RIFF")
    with pytest.raises(DataError) as err:
        predict_classifier(tmp / "run", [tmp_path / "a.wav"])
    assert str(err.value) == f"{tmp_path / 'a.wav'}: the model was trained on .ts series, not audio; give .ts files"
    (tmp_path / "b.WAVE").write_bytes(b"RIFF")  # the other WAV spelling is a WAV input too (a folder reads it)
    with pytest.raises(DataError) as err:
        predict_classifier(tmp / "run", [tmp_path / "b.WAVE"])
    assert str(err.value) == f"{tmp_path / 'b.WAVE'}: the model was trained on .ts series, not audio; give .ts files"
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError) as err:
        predict_classifier(tmp / "run", [tmp_path / "notes.txt"])
    assert str(err.value) == f"{tmp_path / 'notes.txt'}: not a .ts file, a UCR archive .tsv file, a .wav file or a folder of WAV files"
    with pytest.raises(CheckpointError) as err:
        predict_classifier(tmp_path, [tmp / "test.ts"])
    assert str(err.value) == f"{tmp_path}: no classifier here (expected {tmp_path / 'model' / 'model.json'})"


def test_held_out_split_is_group_disjoint_and_reported(tmp_path):
    rng = np.random.default_rng(1)
    write_ts(tmp_path / "all.ts", *_ramps(rng, 20))
    summary = train_classifier(tmp_path / "all.ts", tmp_path / "run", None,
                               _config(val_fraction=0.25, test_fraction=0.25, augment=True), log=lambda _: None)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"]["augment"] is True  # jitter path
    split = summary["split"]
    assert (split["train"]["n"], split["validation"]["n"], split["test"]["n"]) == (11, 4, 5)
    sides = [set(split[k]["groups"]) for k in ("train", "validation", "test")]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    assert split["test_source"] == "held-out groups (seed 0)"


def test_unlabelled_training_file_is_refused(tmp_path):
    write_ts(tmp_path / "u.ts", [np.zeros((3, 1))])
    with pytest.raises(DataError) as err:
        train_classifier(tmp_path / "u.ts", tmp_path / "run", config=_config(), log=lambda _: None)
    assert str(err.value) == f"{tmp_path / 'u.ts'}: has no class labels (@classLabel false); training and evaluation need labels"


class _Interrupted(Exception):
    pass


def _resume_config(average="none", members=1, network="rnn"):
    """Two layers with dropout, jitter and a cosine schedule: every RNG and the schedule matter.

    With weight averaging it runs over epochs 2-6, so the cut after epoch 3 falls inside it.
    """
    return ClassifyConfig(
        train=TrainConfig(epochs=6, batch_size=8, lr=2e-2, progress=False, scheduler="cosine"),
        model=ClassifyModelConfig(network=network, hidden_size=8, num_layers=2, dropout=0.2, label_smoothing=0.1,
                                  weight_average=average, average_decay=0.8, average_start=0.3,
                                  members=members),
        data=ClassifyDataConfig(augment=True),
    )


@pytest.mark.parametrize("average, members, network", [
    ("none", 1, "rnn"), ("ema", 1, "rnn"), ("swa", 1, "rnn"), ("none", 2, "rnn"), ("ema", 2, "rnn"),
    ("ema", 1, "lstm_fcn")])
def test_interrupted_then_resumed_run_ends_like_an_uninterrupted_one(tmp_path, monkeypatch, average, members,
                                                                     network):
    from safetensors.torch import load_file

    from rnnkit.training.trainer import Trainer

    rng = np.random.default_rng(2)
    write_ts(tmp_path / "train.ts", *_ramps(rng, 24), class_labels=["down", "up"])
    write_ts(tmp_path / "test.ts", *_ramps(rng, 10), class_labels=["down", "up"])
    train, test = tmp_path / "train.ts", tmp_path / "test.ts"
    cfg = lambda: _resume_config(average, members, network)  # noqa: E731
    whole = train_classifier(train, tmp_path / "whole", test, cfg(), log=lambda _: None)

    save = Trainer._save

    def save_then_die(self, improved, generators):  # killed right after epoch 3's checkpoint
        save(self, improved, generators)
        if self.epoch == 3:
            raise _Interrupted

    monkeypatch.setattr(Trainer, "_save", save_then_die)
    with pytest.raises(_Interrupted):
        train_classifier(train, tmp_path / "cut", test, cfg(), log=lambda _: None)
    monkeypatch.setattr(Trainer, "_save", save)
    assert len((tmp_path / "cut" / "metrics.csv").read_text().splitlines()) == 1 + 3
    resumed = train_classifier(train, tmp_path / "cut", test, cfg(), log=lambda _: None,
                               resume=True)

    assert resumed["epochs_run"] == whole["epochs_run"] == 6
    a = load_file(tmp_path / "whole" / "model" / "model.safetensors")
    b = load_file(tmp_path / "cut" / "model" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (json.loads((tmp_path / "whole" / "metrics.json").read_text())
            == json.loads((tmp_path / "cut" / "metrics.json").read_text()))
    losses = [[row.split(",")[:-1] for row in (tmp_path / run / "metrics.csv").read_text().splitlines()]
              for run in ("whole", "cut")]
    assert losses[0] == losses[1] and len(losses[0]) == 1 + 6  # every column but the seconds
    assert any(k.startswith("extra_members.0.rnn.") for k in a) == (members == 2)
    if average != "none":  # the saved model's weights are the average of the 5 * 3 steps of epochs 2-6,
        # which the last checkpoint holds as buffers (for a resume); the saved model drops them
        last = load_file(tmp_path / "whole" / "checkpoints" / "last" / "model.safetensors")
        assert int(last["average.count"]) == 15 and not any(k.startswith("average.") for k in a)
        params = [k for k in a if f"average.{k.replace('.', '__')}" in last]
        assert params and all(torch.equal(a[k], last[f"average.{k.replace('.', '__')}"]) for k in params)
        assert any(k.endswith("running_mean") for k in params) == (network == "lstm_fcn")  # the hybrid's norms
        assert not all(torch.equal(a[k], last[k]) for k in params)  # not the last raw weights


def test_resume_without_a_checkpoint(tmp_path):
    write_ts(tmp_path / "train.ts", *_ramps(np.random.default_rng(3), 12))
    (tmp_path / "run").mkdir()
    with pytest.raises(CheckpointError) as err:
        train_classifier(tmp_path / "train.ts", tmp_path / "run", config=_config(), log=lambda _: None, resume=True)
    assert str(err.value) == (f"cannot resume: {str(tmp_path / 'run')!r} holds no checkpoint "
                              f"({str(tmp_path / 'run' / 'checkpoints' / 'last')!r} does not exist)")


def test_average_start_out_of_range(tmp_path):
    from rnnkit.errors import ConfigError

    write_ts(tmp_path / "train.ts", *_ramps(np.random.default_rng(3), 12))
    cfg = _config()
    cfg.model.weight_average, cfg.model.average_start = "swa", 1.0
    with pytest.raises(ConfigError) as err:
        train_classifier(tmp_path / "train.ts", tmp_path / "run", config=cfg, log=lambda _: None)
    assert str(err.value) == "model.average_start must be in [0, 1), got 1.0"


def test_members_one_is_the_plain_model_and_members_train_as_if_alone(tmp_path):
    """members=1 (the default) is the model without the option; member 1 of an ensemble
    starts, and trains, exactly like the members=1 model of the same seed (no dropout, no
    jitter: the summed loss gives each member its own gradients)."""
    from safetensors.torch import load_file

    rng = np.random.default_rng(5)
    write_ts(tmp_path / "train.ts", *_ramps(rng, 24), class_labels=["down", "up"])
    write_ts(tmp_path / "test.ts", *_ramps(rng, 10), class_labels=["down", "up"])
    runs = {}
    for k in (1, 3):
        cfg = _config()
        cfg.model.network, cfg.model.members = "rnn", k   # the recurrent network's state_dict keys
        train_classifier(tmp_path / "train.ts", tmp_path / f"m{k}", tmp_path / "test.ts", cfg, log=lambda _: None)
        runs[k] = load_file(tmp_path / f"m{k}" / "model" / "model.safetensors")
    one, three = runs[1], runs[3]
    assert not any("extra_members" in k for k in one)
    assert {k for k in three if not k.startswith("extra_members.")} == set(one)
    assert all(torch.equal(one[k], three[k]) for k in one)  # member 1 == the single model
    assert {k.split(".")[1] for k in three if k.startswith("extra_members.")} == {"0", "1"}
    assert not torch.equal(three["extra_members.0.head.weight"], three["head.weight"])
    model, info = load_classifier(tmp_path / "m3")
    assert info["model"]["members"] == 3 and model.num_members == 3
    metrics = evaluate_classifier(tmp_path / "m3", tmp_path / "test.ts")
    assert metrics["n_test"] == 10


def test_the_cli_default_builds_what_the_python_default_builds():
    """No [model] settings: the estimator the CLI makes has Classifier()'s network arguments."""
    from rnnkit.tasks.classify import Classifier
    from rnnkit.tasks.classify.pipeline import classifier_from_config, default_config

    cli = classifier_from_config(ClassifyConfig()).get_params()
    python = Classifier().get_params()
    network_args = ("model", "kernels", "dilations", "cell", "hidden_size", "num_layers",
                    "bidirectional", "pooling", "dropout", "deltas", "label_smoothing", "backend",
                    "normalize", "lr", "batch_size", "grad_clip", "crop", "crop_min_length")
    assert {k: cli[k] for k in network_args} == {k: python[k] for k in network_args}
    # widths: the CLI keeps the network's own; Classifier()'s "auto" is the same below 128 series
    # and FCN's widths from there (with 100 epochs, a budget the CLI's train.epochs does not follow)
    assert cli["filters"] is None and python["filters"] == "auto"
    # members: the CLI's one network (its defaults were chosen on spoken digits), Classifier()'s "auto"
    assert cli["members"] == 1 and python["members"] == "auto"
    rnn = classifier_from_config(from_dict(ClassifyConfig, apply_overrides(default_config(), ["model.network='rnn'"])))
    assert rnn.get_params()["model"] == "rnn"


@pytest.mark.parametrize("overrides, message", [
    (["model.network='rnn'", "model.summary=5"], "model.summary = 5 does not apply to model.network = 'rnn'; "
                                                  "remove it, or set model.network = 'lstm_fcn'"),
    (["model.network='rnn'", "model.filters=[8, 8]"], "model.filters = [8, 8] does not apply to "
                                                       "model.network = 'rnn'; remove it, or set model.network = 'lstm_fcn'"),
])
def test_a_model_setting_the_network_would_ignore_is_refused(overrides, message):
    from rnnkit.errors import ConfigError
    from rnnkit.tasks.classify.pipeline import classifier_from_config, default_config

    with pytest.raises(ConfigError) as err:
        classifier_from_config(from_dict(ClassifyConfig, apply_overrides(default_config(), overrides)))
    assert str(err.value) == message


def test_weight_averaging_applies_to_either_network():
    from rnnkit.tasks.classify.pipeline import classifier_from_config, default_config

    for network in ("lstm_fcn", "rnn"):
        overrides = [f"model.network='{network}'", "model.weight_average='ema'", "model.average_decay=0.9"]
        cfg = from_dict(ClassifyConfig, apply_overrides(default_config(), overrides))
        params = classifier_from_config(cfg).get_params()
        assert (params["model"], params["weight_average"], params["average_decay"]) == (network, "ema", 0.9)


def test_data_crop_settings_reach_the_classifier_and_bad_ones_are_named():
    from rnnkit.errors import ConfigError
    from rnnkit.tasks.classify.pipeline import classifier_from_config, default_config

    cfg = from_dict(ClassifyConfig, apply_overrides(default_config(), ["data.crop=0.8", "data.crop_min_length=30"]))
    params = classifier_from_config(cfg).get_params()
    assert (params["crop"], params["crop_min_length"]) == (0.8, 30)
    for bad in (["data.crop=1.5"], ["data.crop_min_length=0"]):
        with pytest.raises(ConfigError, match="data.crop must be in"):
            classifier_from_config(from_dict(ClassifyConfig, apply_overrides(default_config(), bad)))
