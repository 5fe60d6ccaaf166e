"""Fixtures of the rnnkit.nn tests."""
from __future__ import annotations

import pytest

from rnnkit.nn import kernels, stack
from tests.nn.helpers import bptt_available


@pytest.fixture(params=["functional", "bptt", "bptt-python"])
def sequence_impl(request, monkeypatch):
    """Run a test once per implementation of the "rnnkit" path (see rnnkit.nn.stack).

    "bptt" is the hand-written BPTT as it runs by default, with the fused C++ loops of
    rnnkit.nn.kernels where they apply (and built); "bptt-python" is the same with the
    kernels turned off, so the Python loops stay covered wherever the kernels exist.
    """
    if request.param != "functional" and not bptt_available():
        pytest.skip("rnnkit.nn.bptt has not landed")
    monkeypatch.setattr(stack, "SEQUENCE_IMPL", request.param.split("-")[0])
    if request.param == "bptt-python":
        with kernels.disabled():
            yield request.param
    else:
        yield request.param
