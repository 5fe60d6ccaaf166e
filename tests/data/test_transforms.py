"""log / difference / scale: fitted on train only, inverted exactly on the forecast."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.transforms import SeriesTransform
from rnnkit.errors import DataError


@pytest.mark.parametrize("log, diff", [("off", 0), ("on", 0), ("auto", 1), ("on", 12)])
def test_inverse_undoes_transform_on_the_future(rng, log, diff):
    y = 50 + np.cumsum(rng.uniform(0.1, 2.0, size=(60, 2)), axis=0)  # (60, 2), positive
    tf = SeriesTransform.fit(y[:48], log=log, diff=diff)
    z = tf.transform(y)  # (60 - diff, 2)
    back = tf.inverse(z[-12:], y[:48])  # forecast of y[48:60] from its transformed values
    assert np.allclose(back, y[48:], rtol=1e-12, atol=1e-9)


def test_statistics_come_from_the_training_part_only():
    y = np.concatenate([np.full((10, 1), 1.0), np.full((10, 1), 1000.0)])
    y[:10, 0] += np.arange(10)
    tf = SeriesTransform.fit(y[:10], log="off")
    assert tf.mean[0] == pytest.approx(5.5) and tf.std[0] == pytest.approx(np.arange(10).std())
    assert not tf.log


def test_auto_log_only_for_positive_data_and_errors():
    assert SeriesTransform.fit(np.array([[1.0], [2.0], [3.0]])).log
    assert not SeriesTransform.fit(np.array([[0.0], [2.0], [3.0]])).log
    with pytest.raises(DataError) as err:
        SeriesTransform.fit(np.array([[0.0], [2.0], [3.0]]), log="on", where="s")
    assert str(err.value) == "s: --log on needs every training value > 0, got a minimum of 0"
    with pytest.raises(DataError) as err:
        SeriesTransform.fit(np.ones((5, 1)), log="maybe")
    assert str(err.value) == "--log must be one of auto, on, off, got 'maybe'"


def test_dict_round_trip_is_exact(rng):
    tf = SeriesTransform.fit(rng.uniform(1, 2, size=(30, 3)), diff=2)
    again = SeriesTransform.from_dict(tf.to_dict())
    assert again.log == tf.log and again.diff == 2
    assert np.array_equal(again.mean, tf.mean) and np.array_equal(again.std, tf.std)
