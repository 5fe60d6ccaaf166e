"""The layers' docstrings: their Examples run as printed, and every keyword rnnkit adds
to torch's arguments is documented."""
from __future__ import annotations

import doctest
import inspect

import pytest
import torch

import rnnkit.nn

LAYERS = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MinGRU", "MinLSTM"]


@pytest.mark.parametrize("name", LAYERS)
def test_examples_run_as_printed(name):
    cls = getattr(rnnkit.nn, name)
    tests = doctest.DocTestFinder(recurse=False).find(cls, name, globs={})
    examples = [example for test in tests for example in test.examples]
    assert any("Examples:" in (test.docstring or "") for test in tests), f"{name} has no Examples"
    assert len(examples) >= 3, f"{name}'s Examples block is too short to show anything"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    torch.manual_seed(0)
    for test in tests:
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def _extension_keywords(cls) -> list[str]:
    """The keywords beyond torch.nn's: keyword-only ones, and a callable nonlinearity."""
    params = inspect.signature(cls.__init__).parameters.values()
    names = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    return names + (["nonlinearity"] if "nonlinearity" in cls.__init__.__code__.co_varnames else [])


@pytest.mark.parametrize("name", LAYERS)
def test_every_extension_keyword_is_documented(name):
    cls = getattr(rnnkit.nn, name)
    keywords = _extension_keywords(cls)
    assert keywords, f"{name} takes no rnnkit keyword?"
    missing = [k for k in keywords if f"``{k}``" not in (cls.__doc__ or "")]
    assert missing == [], f"{name}'s docstring does not document {missing}"
