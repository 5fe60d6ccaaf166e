"""`Classifier(weight_average=...)` with the default hybrid network: the option reaches it (and
the partner's second network, in this process or beside it), "none" is the fit it was before
the hybrid took the option, an averaged model saves (without its average's buffers) and loads
exactly, folders saved before
load as they were, and an option the chosen network does not take is refused in one line."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.classify import Classifier
from rnnkit.tasks.classify import params as params_mod
from rnnkit.tasks.classify import side as side_mod
from tests.models.helpers import state_without_average
from tests.tasks.classify.test_partner import TINY, spread_data

pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.tasks.classify.ChanceLevelWarning")  # few steps

# 40 series in batches of 8: 5 steps an epoch, 4 epochs; averaging from epoch 4 (start 0.75)
AVG = {**TINY, "min_steps": 20, "max_steps": 20, "dropout": 0.2, "partner_ensemble": True, "n_jobs": 1}


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def ema():
    X, y = spread_data()
    return Classifier(**AVG, weight_average="ema", average_decay=0.8).fit(X, y), X, y


def test_the_default_is_ema_over_the_last_quarter():
    params = Classifier().get_params()
    assert (params["weight_average"], params["average_decay"], params["average_start"]) == ("ema", 0.99, 0.75)


def test_the_hybrid_and_its_partner_network_are_averaged(ema):
    est, X, y = ema
    # the first network: 20 steps of 5 a epoch, epoch 4 averaged; the second (30 series):
    # 20 steps of 4 a epoch, epochs 4-5 (past int(0.75 * 5) = 3)
    for net, info, count in ((est.network_, est.info_["model"], 5),
                             (est.partner_network_, est.partner_network_info_["model"], 8)):
        assert info["weight_average"] == "ema" and info["average_decay"] == 0.8
        assert int(net.average.count) == count
        state = net.state_dict()
        averaged = [k for k in state if f"average.{k.replace('.', '__')}" in state]
        assert any(k.endswith("running_var") for k in averaged)
        assert all(torch.equal(state[k], state[f"average.{k.replace('.', '__')}"]) for k in averaged)


def test_none_is_the_fit_from_before_the_hybrid_took_the_option(monkeypatch):
    """Offering the hybrid weight_average="none" changes no bit of the fit against not
    offering it at all (the estimator as it was: the option filtered out)."""
    X, y = spread_data()
    now = Classifier(**AVG, weight_average="none").fit(X, y)
    assert now.info_["model"]["weight_average"] == "none"
    assert not any(k.startswith("average.") for k in now.network_.state_dict())
    before = tuple(a for a in params_mod.NETWORK_ARGS if a not in ("weight_average", "average_decay"))
    monkeypatch.setattr("rnnkit.tasks.classify.estimator.NETWORK_ARGS", before)
    old = Classifier(**AVG, weight_average="none").fit(X, y)
    assert "weight_average" not in old.info_["model"]
    assert _same_state(now.network_, old.network_) and _same_state(now.partner_network_, old.partner_network_)
    assert now.partner_weight_ == old.partner_weight_
    np.testing.assert_array_equal(now.predict_proba(X), old.predict_proba(X))


def test_an_averaged_model_saves_without_its_average_and_loads_exactly(ema, tmp_path):
    """The weights are the average at the end of fit: the folder keeps them and drops the
    average's buffers (half the file), so the loaded networks keep no average."""
    est, X, _ = ema
    est.save(tmp_path / "m")
    back = Classifier.load(tmp_path / "m")
    assert back.get_params()["weight_average"] == "ema"
    for fitted, loaded in ((est.network_, back.network_), (est.partner_network_, back.partner_network_)):
        assert int(fitted.average.count) > 0 and loaded.weight_average == "none"
        assert not any(k.startswith("average.") for k in loaded.state_dict())
        want, got = state_without_average(fitted), loaded.state_dict()
        assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    np.testing.assert_array_equal(est.predict_proba(X), back.predict_proba(X))
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["model"]["weight_average"] == meta["partner"]["network"]["model"]["weight_average"] == "none"
    assert meta["estimator"]["weight_average"] == "ema"


def test_saving_draws_nothing_from_the_global_generator(ema, tmp_path):
    est, _, _ = ema
    torch.manual_seed(5)
    est.save(tmp_path / "m")
    after_save = torch.rand(3)
    torch.manual_seed(5)
    torch.testing.assert_close(after_save, torch.rand(3))


def test_a_folder_saved_before_the_option_loads_as_it_was(tmp_path):
    """model.json from before: no weight_average in the network's arguments nor the estimator's
    (the default then, "none"; today's default, "ema", would not load its weights' keys)."""
    X, y = spread_data()
    est = Classifier(**AVG, weight_average="none").fit(X, y)
    est.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    for table in (meta["model"], meta["partner"]["network"]["model"], meta["estimator"]):
        for key in ("weight_average", "average_decay", "average_start"):
            table.pop(key, None)
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    back = Classifier.load(tmp_path / "m")
    assert back.get_params()["weight_average"] == "none" and back.network_.weight_average == "none"
    np.testing.assert_array_equal(est.predict_proba(X), back.predict_proba(X))


def test_the_second_network_fitted_beside_is_the_same_bits_with_averaging(monkeypatch):
    X, y = spread_data()
    monkeypatch.setattr(side_mod, "MIN_WORK", 0)  # a tiny fit goes to a child process too
    opts = {**AVG, "weight_average": "swa"}
    after = Classifier(**opts).fit(X, y)
    beside = Classifier(**{**opts, "n_jobs": 2}).fit(X, y)
    assert int(beside.partner_network_.average.count) > 0
    assert _same_state(after.network_, beside.network_)
    assert _same_state(after.partner_network_, beside.partner_network_)
    np.testing.assert_array_equal(beside.predict_proba(X), after.predict_proba(X))


@pytest.mark.parametrize("kw, message", [
    ({"model": "rnn", "filters": (8, 8)}, "filters=(8, 8) does not apply to model='rnn' (its network does not "
                                          "take it); leave filters at 'auto' or choose another model"),
    ({"model": "rnn", "filters": "auto", "kernels": None, "dilations": (1, 4, 16), "summary": 5},
     "summary=5 does not apply to model='rnn' (its network does not take it); "
     "leave summary at 0 or choose another model"),
])
def test_an_option_the_network_does_not_take_is_refused(kw, message):
    X, y = spread_data()
    with pytest.raises(ConfigError) as err:
        Classifier(**{**TINY, **kw}).fit(X, y)
    assert str(err.value) == message


def test_defaults_and_none_are_not_refused_for_either_network():
    X, y = spread_data(n=16)
    for model in ("rnn", "lstm_fcn"):  # TINY's dilations are the hybrid's; "rnn" gets the defaults
        kw = {k: v for k, v in TINY.items() if k not in ("filters", "kernels", "dilations")}
        Classifier(**{**kw, "model": model, "kernels": None, "dilations": [1, 4, 16]}, partner=None).fit(X, y)


def test_a_folder_saved_with_the_average_buffers_still_loads(ema, tmp_path):
    """Folders written before the buffers were left out hold them and say weight_average="ema"
    in the network's arguments: they load as they were, with the same predictions."""
    from safetensors.torch import save as st_save

    est, X, _ = ema
    est.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    for table in (meta["model"], meta["partner"]["network"]["model"]):
        table["weight_average"] = "ema"
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    for name, net in (("model.safetensors", est.network_), ("partner_network.safetensors", est.partner_network_)):
        (tmp_path / "m" / name).write_bytes(st_save({k: v.contiguous() for k, v in net.state_dict().items()}))
    back = Classifier.load(tmp_path / "m")
    assert int(back.network_.average.count) == int(est.network_.average.count) > 0
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
