"""Window slicing above a minimum length (`Classifier(crop=..., crop_min_length=...)`): short
series are trained on and predicted whole, long ones cropped; a fit with no series long enough
is the crop = 1 fit, one with every series long enough the unconditional crop's; the option
goes through get_params/clone/save/load, and models saved before it keep their behaviour."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from rnnkit.errors import ConfigError
from rnnkit.tasks.classify import ChanceLevelWarning, Classifier
from rnnkit.tasks.classify import estimator as estimator_module
from rnnkit.tasks.classify.crops import MIN_LENGTH, crop_length, crop_starts, is_cropped, random_crop, views

from tests.tasks.classify.test_estimator import TINY, ramps

SHORT = dict(TINY, min_steps=5, max_steps=5)


def _fit(series, y, **kw) -> Classifier:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChanceLevelWarning)
        return Classifier(**SHORT, **kw).fit(series, y)


def _mixed(n=24):
    """n series (T_i, 2) of lengths 4..40, about half of them shorter than 16 steps."""
    X, y = ramps(n, length=40, channels=2)
    return [x[:, : 4 + (7 * i) % 37].T for i, x in enumerate(X)], y


def test_is_cropped_and_views_follow_the_minimum_length():
    assert MIN_LENGTH == Classifier().crop_min_length and 29 < MIN_LENGTH <= 100
    assert is_cropped(64, 0.9, 64) and not is_cropped(63, 0.9, 64) and not is_cropped(500, 1.0, 64)
    x = np.arange(40, dtype=np.float32).reshape(20, 2)  # (T, C)
    [whole] = views(x, 0.9, 21)
    np.testing.assert_array_equal(whole, x)
    windows = views(x, 0.5, 20)
    assert len(windows) == 5 and {len(w) for w in windows} == {10}
    np.testing.assert_array_equal(windows[-1], x[10:])


def test_training_crops_the_long_series_only(monkeypatch):
    series, y = _mixed()
    seen = []

    def spy(x, crop, rng):
        seen.append(len(x))
        return random_crop(x, crop, rng)

    monkeypatch.setattr(estimator_module, "random_crop", spy)
    _fit(series, y, crop=0.8, crop_min_length=16)  # 5 steps of 16: every series drawn at least once
    assert set(seen) == {len(s) for s in series if len(s) >= 16}  # lengths 4 + 7i mod 37: distinct


def test_prediction_whole_for_short_series_and_averaged_for_long_ones():
    series, y = _mixed()
    clf = _fit(series, y, crop=0.7, crop_min_length=16)
    whole = clone(clf).set_params(crop=1.0)  # same network, predicting on what it is given
    whole.__dict__.update({k: v for k, v in clf.__dict__.items() if k.endswith("_")})
    probs = clf.predict_proba(series, batch_size=7)
    for s, p in zip(series, probs):
        if len(s) < 16:
            expected = whole.predict_proba([s])[0]
        else:
            length = crop_length(len(s), 0.7)
            expected = whole.predict_proba([s[b:b + length] for b in crop_starts(len(s), 0.7)]).mean(axis=0)
        np.testing.assert_allclose(p, expected, rtol=0, atol=1e-6)
    alone = np.concatenate([clf.predict_proba([s]) for s in series])
    np.testing.assert_allclose(probs, alone, rtol=0, atol=1e-6)  # padded batch == each alone
    np.testing.assert_array_equal(probs, clf.predict_proba(series, batch_size=7))  # deterministic
    long = [i for i, s in enumerate(series) if len(s) >= 16]
    assert not np.allclose(probs[long], whole.predict_proba([series[i] for i in long]), atol=1e-4)


def _weights(clf):
    return [p.detach().numpy().copy() for p in clf.network_.parameters()]


def test_no_series_long_enough_is_the_uncropped_fit():
    series, y = _mixed()
    plain, floor = _fit(series, y, crop=1.0), _fit(series, y, crop=0.6, crop_min_length=41)
    for a, b in zip(_weights(plain), _weights(floor)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(plain.predict_proba(series), floor.predict_proba(series))
    cropped = _fit(series, y, crop=0.6, crop_min_length=1)
    assert not all(np.array_equal(a, b) for a, b in zip(_weights(plain), _weights(cropped)))


def test_every_series_long_enough_is_the_unconditional_crop():
    series, y = _mixed()
    a, b = _fit(series, y, crop=0.6, crop_min_length=1), _fit(series, y, crop=0.6, crop_min_length=4)
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.predict_proba(series), b.predict_proba(series))


def test_crop_min_length_goes_through_get_params_clone_and_save_load(tmp_path):
    series, y = _mixed()
    clf = _fit(series, y, crop=0.7, crop_min_length=16)
    assert clf.get_params()["crop_min_length"] == 16 and clone(clf).crop_min_length == 16
    clf.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert (back.crop, back.crop_min_length) == (0.7, 16)
    np.testing.assert_array_equal(back.predict_proba(series), clf.predict_proba(series))


@pytest.mark.parametrize("drop, expected", [(("crop_min_length",), (0.7, 1)),
                                            (("crop", "crop_min_length"), (1.0, 1)),
                                            (None, (1.0, 1))])  # no "estimator" table at all
def test_models_saved_before_the_options_keep_their_behaviour(tmp_path, drop, expected):
    series, y = _mixed()
    clf = _fit(series, y, crop=0.7, crop_min_length=16)
    clf.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    info = json.loads(path.read_text())
    if drop is None:
        del info["estimator"]
    for key in drop or ():
        del info["estimator"][key]
    path.write_text(json.dumps(info))
    back = Classifier.load(tmp_path / "m")
    assert (back.crop, back.crop_min_length) == expected


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "64"])
def test_bad_crop_min_length_is_refused(bad):
    X, y = ramps(8)
    with pytest.raises(ConfigError, match="crop_min_length must be an int >= 1"):
        Classifier(**TINY, crop_min_length=bad).fit(X, y)
