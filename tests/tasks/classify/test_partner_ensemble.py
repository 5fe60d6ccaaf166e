"""`Classifier(partner_ensemble=True)`: the second network (fitted on 75 % to choose the trees'
weight) kept and averaged with the first; the option off leaves the fit as it was."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.tasks.classify import Classifier
from rnnkit.tasks.classify.fitting import stratified_split
from rnnkit.tasks.classify.persist import SECOND_FILE
from tests.models.helpers import state_without_average
from tests.tasks.classify.test_partner import TINY, spread_data

pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.tasks.classify.ChanceLevelWarning")  # few steps


@pytest.fixture(scope="module")
def fits():
    X, y = spread_data()
    off = Classifier(**TINY, partner="trees").fit(X, y)
    on = Classifier(**TINY, partner="trees", partner_ensemble=True).fit(X, y)
    return X, y, off, on


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Equal state but for the weight average's buffers, which a saved model leaves out (its
    weights are the average already: rnnkit.tasks.classify.persist)."""
    sa, sb = state_without_average(a), state_without_average(b)
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_the_option_changes_only_the_prediction(fits, tmp_path):
    X, y, off, on = fits
    assert off.partner_network_ is None and on.partner_network_ is not None
    assert _same_weights(off.network_, on.network_)  # the first network: the fit without the option
    assert on.partner_weight_ == off.partner_weight_ and on.partner_losses_ == off.partner_losses_
    np.testing.assert_array_equal(on.partner_.value, off.partner_.value)
    nets, p_trees = on._component_proba(X, each=True)
    w = off.partner_weight_
    mix = w * nets[0] + (1 - w) * p_trees
    np.testing.assert_array_equal(off.predict_proba(X), mix / mix.sum(axis=1, keepdims=True))
    off.save(tmp_path / "off")
    assert not (tmp_path / "off" / SECOND_FILE).exists()
    assert "network" not in json.loads((tmp_path / "off" / "model.json").read_text())["partner"]


def test_predict_proba_is_the_mean_of_the_two_networks_mixed_with_the_trees(fits):
    X, y, off, on = fits
    assert 0.5 <= on.partner_weight_ < 1.0  # the trees take a share (TINY: 3 steps)
    fit_idx, _ = stratified_split(np.asarray(y), on.partner_fraction, 0)
    alone = Classifier(**TINY, partner=None).fit([X[i] for i in fit_idx], y[fit_idx])  # the second network
    p_first = off._component_proba(X)[0]  # the first network (off keeps no second)
    p_second = alone.predict_proba(X)
    assert not np.allclose(p_first, p_second)
    p_net = (p_first + p_second) / 2
    w = on.partner_weight_
    mix = w * p_net + (1 - w) * on._component_proba(X)[1]
    np.testing.assert_allclose(on.predict_proba(X), mix / mix.sum(axis=1, keepdims=True), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(on.predict(X), on.classes_[on.predict_proba(X).argmax(axis=1)])


def test_save_load_is_exact_with_two_networks(fits, tmp_path):
    X, y, off, on = fits
    on.save(tmp_path / "m")
    assert (tmp_path / "m" / SECOND_FILE).is_file()
    back = Classifier.load(tmp_path / "m")
    assert back.partner_ensemble is True and back.partner_network_ is not None
    assert _same_weights(back.partner_network_, on.partner_network_)
    np.testing.assert_array_equal(back.predict_proba(X), on.predict_proba(X))
    back.save(tmp_path / "again")  # a loaded model saves what it loaded
    np.testing.assert_array_equal(Classifier.load(tmp_path / "again").predict_proba(X), on.predict_proba(X))


def test_models_saved_before_the_option_load_without_it(fits, tmp_path):
    X, y, off, on = fits
    off.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    info = json.loads(path.read_text())
    info["estimator"].pop("partner_ensemble")
    path.write_text(json.dumps(info))
    back = Classifier.load(tmp_path / "m")
    assert back.partner_ensemble is False and back.partner_network_ is None
    np.testing.assert_array_equal(back.predict_proba(X), off.predict_proba(X))


@pytest.mark.parametrize("change, message", [
    (lambda spec: spec["model"].update(dropout=0.25), "repeat the network's arguments"),
    (lambda spec: spec.pop("normalize"), "'normalize' tables"),
    (lambda spec: spec["normalize"].update(mode="sideways"), "normalize"),
])
def test_a_tampered_second_network_entry_is_one_line(fits, tmp_path, change, message):
    fits[3].save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    info = json.loads(path.read_text())
    change(info["partner"]["network"])
    path.write_text(json.dumps(info))
    with pytest.raises(CheckpointError, match=message) as err:
        Classifier.load(tmp_path / "m")
    assert "\n" not in str(err.value)


def test_a_missing_or_mismatched_second_network_file_is_one_line(fits, tmp_path):
    from safetensors.torch import load_file, save as st_save

    fits[3].save(tmp_path / "m")
    file = tmp_path / "m" / SECOND_FILE
    weights = load_file(file)  # as saved
    name = next(k for k, v in weights.items() if v.ndim and len(v) > 1)
    file.write_bytes(st_save({**weights, name: weights[name][:1].contiguous()}))
    with pytest.raises(CheckpointError, match="shape"):
        Classifier.load(tmp_path / "m")
    file.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        Classifier.load(tmp_path / "m")


def test_without_a_held_out_fit_there_is_no_second_network():
    X, y = spread_data()
    clf = Classifier(**TINY, partner="trees", partner_ensemble=True, validation_fraction=0.25).fit(X, y)
    assert clf.partner_source_ == "validation" and clf.partner_network_ is None


def test_a_bad_partner_ensemble_is_one_line():
    X, y = spread_data()
    with pytest.raises(ConfigError, match="partner_ensemble"):
        Classifier(**TINY, partner_ensemble="yes").fit(X, y)
