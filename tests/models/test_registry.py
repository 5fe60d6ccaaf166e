"""model.json tags and the registry: any saved model rebuilds from its task tag."""
from __future__ import annotations

import pytest
import torch

from rnnkit.errors import CheckpointError
from rnnkit.models import registry
from rnnkit.models.charlm import CharLM
from rnnkit.models.classifier import SequenceClassifier
from rnnkit.models.recurrent import RecurrentModel


def _configs():
    text = CharLM(10, 4, 8).model_config
    rec = RecurrentModel(2, 6, 1, cell="gru").model_config
    clf = {"model": {"input_size": 3, "num_classes": 2, "hidden_size": 4}, "labels": ["a", "b"]}
    return {"text": (text, CharLM), "recurrent": (rec, RecurrentModel),
            "classify": (clf, SequenceClassifier)}


@pytest.mark.parametrize("task", ["text", "recurrent", "classify"])
def test_tagged_and_format_0_files_build_the_same_model(task):
    config, cls = _configs()[task]
    info = registry.tagged(task, config)
    assert (info["task"], info["format"]) == (task, registry.MODEL_FORMAT)
    assert registry.task_of(info) == task
    assert registry.task_of(config) == task  # format 0: no tag, recognised by its keys
    torch.manual_seed(0)
    a = registry.build_model(info)
    torch.manual_seed(0)
    b = registry.build_model(config)
    assert type(a) is cls and type(b) is cls
    assert a.state_dict().keys() == b.state_dict().keys()


def test_the_tag_wins_over_the_keys():
    config, _ = _configs()["recurrent"]
    with pytest.raises(CheckpointError, match=r"^m\.json: task 'speech' is not a model rnnkit knows"):
        registry.task_of({**config, "task": "speech", "format": 1}, "m.json")


@pytest.mark.parametrize("fmt", [2, "1", True, -1])
def test_unknown_formats_are_refused(fmt):
    with pytest.raises(CheckpointError, match=r"^m\.json: format .* is not one this rnnkit reads"):
        registry.task_of({"task": "text", "format": fmt}, "m.json")


def test_unrecognised_untagged_file_is_one_line():
    with pytest.raises(CheckpointError, match=r"^model\.json: keys \['a', 'b'\] is not a model"):
        registry.task_of({"a": 1, "b": 2})


@pytest.mark.parametrize("impl,backend", [("rnnkit", "auto"), ("torch", "torch")])
def test_a_classifier_saved_with_the_old_rnn_impl_key_still_builds(impl, backend):
    """model.json files written before ``backend`` say ``rnn_impl``: still loadable."""
    old = {"task": "classify", "labels": ["a", "b"],
           "model": {"input_size": 3, "num_classes": 2, "hidden_size": 4, "rnn_impl": impl}}
    model = registry.build_model(old)
    assert model.rnn.backend == backend


def test_one_layer_factory_checks_cell_and_backend():
    from rnnkit.errors import ConfigError
    from rnnkit.models.layers import recurrent_layer

    layer = recurrent_layer("gru", 3, 4, backend="torch", num_layers=2)
    assert type(layer).__module__.startswith("rnnkit.nn") and layer.backend == "torch"
    with pytest.raises(ConfigError, match=r"^model\.backend must be one of auto, rnnkit, torch, got 'cuda'$"):
        recurrent_layer("gru", 3, 4, backend="cuda")


def test_an_old_forecast_model_json_says_to_retrain_in_one_line():
    info = registry.tagged("forecast", {"input_len": 8, "horizon": 2})
    with pytest.raises(CheckpointError) as err:
        registry.build_model(info)
    assert str(err.value) == ("a forecast model saved by an older rnnkit (RNNForecaster, before the Forecaster); "
                              "retrain it with: rnnkit forecast train")
