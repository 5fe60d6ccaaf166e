"""Test-time adaptation (`adapted`, `predict --adapt`): the batch-norm statistics become those of
the inputs, exactly; the fitted model is not touched; the order of the inputs does not matter;
what cannot be adapted is a one-line error; the WAV folder and the CLI adapt to the folder."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from rnnkit.cli.app import app
from rnnkit.data.audio_tta import average_views, tta_features
from rnnkit.data.wav import read_wav
from rnnkit.errors import ConfigError, DataError
from rnnkit.models.masked_norm import MaskedBatchNorm1d
from rnnkit.tasks.classify import Classifier, adapted
from rnnkit.tasks.classify.config import ClassifyConfig, default_config
from rnnkit.tasks.classify.crops import windowed_proba
from rnnkit.tasks.classify.pipeline import audio_of, predict_classifier, train_classifier
from rnnkit.tasks.classify.wav_folder import predict_wav_folder
from rnnkit.training.config import apply_overrides, from_dict

from tests.tasks.classify.test_lstm_fcn_estimator import TINY, bumps

DIGITS = Path(__file__).resolve().parents[3] / "src" / "rnnkit" / "datasets" / "speech" / "spoken_digits_synth"


@pytest.fixture(scope="module")
def fitted():
    X, y = bumps(40)
    return Classifier(**TINY).fit(X, y)


def shifted(n=24, seed=3):
    """Bumps seen through another 'channel': scaled and offset, as a new voice shifts features."""
    X, y = bumps(n, seed=seed)
    return [3.0 * x + 1.5 for x in X], y


def norms(network):
    return [m for m in network.modules() if isinstance(m, MaskedBatchNorm1d)]


def test_statistics_become_those_of_the_inputs_at_every_layer(fitted):
    X, _ = shifted()
    mine = adapted(fitted, X)
    layers = norms(mine.network_)
    assert len(layers) % 3 == 0 and layers  # three convolutions per member
    seen = {}

    def keep(module, args):
        seen[module] = (args[0].detach().double(), args[1].detach().double())  # x (B, N, T), mask (B, 1, T)

    hooks = [m.register_forward_pre_hook(keep) for m in layers]
    seqs = mine.normalizer_(X)
    # evaluation mode (the new statistics), the windows prediction averages over
    windowed_proba(mine.network_.eval(), seqs, mine.crop, mine.crop_min_length, 10 * len(seqs))
    for h in hooks:
        h.remove()
    first = {id(m) for i, m in enumerate(layers) if i % 3 == 0}  # three convolutions a member
    for m in layers:  # each layer's input, normalised by the adapted layers before it
        x, mask = seen[m]
        count = mask.sum()
        mean = (x * mask).sum(dim=(0, 2)) / count
        var = (((x - mean[None, :, None]) * mask) ** 2).sum(dim=(0, 2)) / (count - 1)
        if id(m) in first:  # a member's first layer: its input does not depend on any statistic
            torch.testing.assert_close(m.running_mean.double(), mean, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(m.running_var.double(), var, rtol=1e-5, atol=1e-6)
        else:  # adapting normalised the layers before by the biased variance, evaluation by the
            # unbiased one (torch's convention): a factor (n - 1) / n on the variance, n = 473 here
            std = var.sqrt()
            assert float(((m.running_mean.double() - mean).abs() / std).max()) < 5e-3
            assert float((m.running_var.double() / var - 1).abs().max()) < 1e-2


def test_the_fitted_model_is_not_changed_and_the_copy_predicts_otherwise(fitted):
    X, _ = shifted()
    before = {k: v.clone() for k, v in fitted.network_.state_dict().items()}
    p_before = fitted.predict_proba(X)
    mine = adapted(fitted, X)
    after = fitted.network_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    np.testing.assert_array_equal(fitted.predict_proba(X), p_before)
    assert mine.network_ is not fitted.network_
    weights = {k: v for k, v in mine.network_.state_dict().items() if "running" not in k}
    assert all(torch.equal(weights[k], before[k]) for k in weights)  # only the statistics move
    assert not np.allclose(mine.predict_proba(X), p_before)


def test_the_order_of_the_inputs_does_not_matter(fitted):
    X, _ = shifted()
    a, b = adapted(fitted, X), adapted(fitted, X[::-1])
    for m, n in zip(norms(a.network_), norms(b.network_)):
        torch.testing.assert_close(m.running_mean, n.running_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(m.running_var, n.running_var, rtol=1e-5, atol=1e-6)


def test_a_second_network_is_adapted_too(fitted):
    X, y = bumps(40)
    pair = Classifier(**{**TINY, "partner": "trees", "partner_ensemble": True}).fit(X, y)
    assert pair.partner_network_ is not None
    Xs, _ = shifted()
    mine = adapted(pair, Xs)
    for original, copy_ in ((pair.network_, mine.network_), (pair.partner_network_, mine.partner_network_)):
        assert copy_ is not original
        assert not torch.equal(norms(copy_)[0].running_mean, norms(original)[0].running_mean)


def test_what_cannot_be_adapted_is_one_line(fitted):
    X, y = bumps(40)
    with pytest.raises(DataError, match=r"^adapt: needs at least 2 inputs to estimate statistics from, got 1$"):
        adapted(fitted, X[:1])
    plain = Classifier(**{**TINY, "model": "rnn"}).fit(X, y)
    with pytest.raises(DataError, match=r"^adapt: the network \('rnn'\) has no batch normalisation to adapt; "):
        adapted(plain, X)
    with pytest.raises(DataError, match="channels"):
        adapted(fitted, [np.zeros((20, 2), np.float32)] * 3)


@pytest.fixture(scope="module")
def wav_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("adaptwav")
    (root / "train").mkdir()
    (root / "mine").mkdir()
    for digit in (1, 7):
        for spk in ("espeak-en-us-f2", "festival-kal-v2", "flite-awb-v2", "flite-rms-v1"):
            shutil.copy(DIGITS / f"{digit}_{spk}.wav", root / "train")
        for spk in ("festival-ked-v1", "espeak-de-m2"):
            shutil.copy(DIGITS / f"{digit}_{spk}.wav", root / "mine")
    (root / "mine" / "broken.wav").write_bytes(b"not audio")
    cfg = from_dict(ClassifyConfig, apply_overrides(default_config(), [
        "data.label_pattern='^(\\d)_'", "data.group_pattern='^\\d_(.+)\\.wav$'", "train.epochs=2",
        "train.progress=false", "model.hidden_size=8", "model.num_layers=1", "audio.tta=2"]))
    train_classifier(root / "train", root / "run", config=cfg, log=lambda _: None)
    return root


def test_a_wav_folder_is_predicted_by_the_model_adapted_to_its_clean_files(wav_model):
    root = wav_model
    warnings: list[str] = []
    rows = predict_wav_folder(root / "run", root / "mine", warn=warnings.append, adapt=True)
    assert len(rows) == 4 and len(warnings) == 1 and "broken.wav" in warnings[0]
    files = [Path(name) for name, _, _ in rows]
    clf = Classifier.load(root / "run" / "model")
    audio = audio_of(clf.info_)
    views = [tta_features(read_wav(f, audio.sample_rate)[0], audio) for f in files]  # [clean, +2, -2]
    mine = adapted(clf, [v[0] for v in views])  # from the clean features of the usable files
    expected = average_views(mine.predict_proba, views)
    np.testing.assert_allclose([p for _, _, p in rows], expected.max(axis=1), rtol=0, atol=1e-12)
    plain = predict_wav_folder(root / "run", root / "mine", warn=lambda _: None)
    assert [p for _, _, p in rows] != [p for _, _, p in plain]
    by_files = predict_classifier(root / "run", files, adapt=True)  # the same files given one by one
    np.testing.assert_allclose([p for _, _, p in by_files], [p for _, _, p in rows], rtol=0, atol=1e-12)


def test_cli_adapt_flag(wav_model):
    root = wav_model
    args = ["classify", "predict", "--model", str(root / "run")]
    adapted_run = CliRunner().invoke(app, args + ["--adapt", str(root / "mine")])
    plain_run = CliRunner().invoke(app, args + [str(root / "mine")])
    assert adapted_run.exit_code == 0 and plain_run.exit_code == 0, adapted_run.output
    rows = [line.split("\t") for line in adapted_run.stdout.splitlines()]
    expected = predict_wav_folder(root / "run", root / "mine", warn=lambda _: None, adapt=True)
    assert [(n, lab, f"{p:.4f}") for n, lab, p in expected] == [tuple(r) for r in rows]
    assert adapted_run.stdout != plain_run.stdout
    assert len(adapted_run.stderr.splitlines()) == 1 and "Traceback" not in adapted_run.output
    one = CliRunner().invoke(app, args + ["--adapt", str(root / "mine" / "1_festival-ked-v1.wav")])
    assert one.exit_code == 2 and one.stderr.splitlines() == [
        "error: adapt: needs at least 2 inputs to estimate statistics from, got 1"]


def test_the_input_norm_is_adapted_to_the_inputs_themselves():
    X, y = bumps(40)
    clf = Classifier(**{**TINY, "input_norm": True, "members": 1}).fit(X, y)
    norm = clf.network_.input_norm
    assert isinstance(norm, MaskedBatchNorm1d)
    Xs, _ = shifted()
    mine = adapted(clf, Xs)
    # the input layer's statistics are the inputs' own, over every valid step of every window
    seen = {}
    hook = mine.network_.input_norm.register_forward_pre_hook(lambda m, args: seen.update(x=args[0], mask=args[1]))
    seqs = mine.normalizer_(Xs)
    windowed_proba(mine.network_.eval(), seqs, mine.crop, mine.crop_min_length, 10 * len(seqs))
    hook.remove()
    x, mask = seen["x"].double(), seen["mask"].double()
    mean = (x * mask).sum(dim=(0, 2)) / mask.sum()
    torch.testing.assert_close(mine.network_.input_norm.running_mean.double(), mean, rtol=1e-5, atol=1e-6)
    assert not torch.equal(mine.network_.input_norm.running_mean, norm.running_mean)
    # evaluation is per series: a series alone gets what it gets in a batch
    alone = np.concatenate([clf.predict_proba([x]) for x in Xs[:4]])
    np.testing.assert_allclose(alone, clf.predict_proba(Xs)[:4], rtol=1e-5, atol=1e-6)


def test_input_norm_is_the_hybrids_only():
    X, y = bumps(40)
    with pytest.raises(ConfigError, match=r"input_norm"):
        Classifier(**{**TINY, "model": "rnn", "input_norm": True}).fit(X, y)


def test_beyond_max_inputs_the_evenly_spaced_ones_are_used(fitted, monkeypatch):
    import rnnkit.tasks.classify.adapt as adapt_module

    X, _ = shifted(n=20)
    monkeypatch.setattr(adapt_module, "MAX_INPUTS", 5)
    many = adapted(fitted, X)
    few = adapted(fitted, [X[i] for i in (0, 5, 10, 14, 19)])  # linspace(0, 19, 5) rounded
    for m, n in zip(norms(many.network_), norms(few.network_)):
        torch.testing.assert_close(m.running_mean, n.running_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(m.running_var, n.running_var, rtol=1e-5, atol=1e-6)
    first_five = adapted(fitted, X[:5])  # other inputs, other statistics: the choice matters
    assert not torch.equal(norms(first_five.network_)[0].running_mean, norms(few.network_)[0].running_mean)


def test_a_member_per_input_norm_fits_saves_loads_and_adapts(tmp_path):
    X, y = bumps(40)
    clf = Classifier(**{**TINY, "members": "auto", "input_norm": ["utterance", "batch"]}).fit(X, y)
    assert clf.network_.member_inputs == ("utterance", "batch") and len(clf.network_.members) == 2
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    Xs, _ = shifted()
    mine = adapted(back, Xs)
    norms = [(n, m) for n, m in mine.network_.named_modules() if isinstance(m, MaskedBatchNorm1d)]
    before = dict(back.network_.named_modules())
    assert "input_norm" in dict(norms) and all(not torch.equal(m.running_mean, before[n].running_mean)
                                              for n, m in norms)
    with pytest.raises(ConfigError, match=r"one per member \(3\)"):
        Classifier(**{**TINY, "members": 3, "input_norm": ["utterance", "batch"]}).fit(X, y)


def test_group_indices_gives_each_groups_positions_in_natural_order():
    from rnnkit.tasks.classify.adapt import group_indices
    groups = ["spk10", "spk2", "spk10", "spk1", "spk2"]
    assert group_indices(groups) == [("spk1", [3]), ("spk2", [1, 4]), ("spk10", [0, 2])]
    assert group_indices([]) == []
